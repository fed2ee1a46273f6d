// Tested by test/jetstream/sourcing.test.ts and test/differential/sourcing.test.ts.
// The parts of a stream config that copy or move messages: mirror, sources, subject_transform and
// republish. Decoded as Go decodes nats-server's StreamSource / SubjectTransformConfig /
// RePublish, checked with nats-server 2.10's checkStreamCfg rules and errors, and written back
// with its field order and omitempty.

import { bool, DecodeError, I64, int, obj, str, type JsonObject } from "./decode.js";
import { invalidConfig, JsApiError, JsErrors } from "./errors.js";
import { rfc3339ToNs } from "./store.js";
import { compileTransform, isValidFilter, TransformError, type SubjectTransform } from "./transform.js";
import { createHash } from "node:crypto";
import { isValidLiteralSubject, subjectIsSubsetMatch, toWire } from "../../protocol/subject.js";

export interface SubjectTransformConfig {
  src: string;
  dest: string;
}

export interface ExternalStream {
  api: string;
  deliver: string;
}

export interface StreamSource {
  name: string;
  opt_start_seq: number;
  /** As the request gave it (RFC3339); "" when absent. */
  opt_start_time: string;
  filter_subject: string;
  subject_transforms: SubjectTransformConfig[];
  external: ExternalStream | null;
}

export interface RePublish {
  src: string;
  dest: string;
  headers_only: boolean;
}

/** Go's case-insensitive field match: the exact lower-case key wins over other spellings. */
function fields(v: JsonObject): Map<string, unknown> {
  const seen = new Map<string, unknown>();
  for (const [k, x] of Object.entries(v)) {
    const l = k.toLowerCase();
    if (!seen.has(l) || k === l) seen.set(l, x);
  }
  return seen;
}

export function decodeTransform(x: unknown): SubjectTransformConfig {
  const out: SubjectTransformConfig = { src: "", dest: "" };
  if (x === null) return out;
  for (const [k, v] of fields(obj(x))) {
    if (k === "src") out.src = str(v);
    else if (k === "dest") out.dest = str(v);
  }
  return out;
}

export function decodeRePublish(x: unknown): RePublish {
  const out: RePublish = { src: "", dest: "", headers_only: false };
  for (const [k, v] of fields(obj(x))) {
    if (k === "src") out.src = str(v);
    else if (k === "dest") out.dest = str(v);
    else if (k === "headers_only") out.headers_only = bool(v);
  }
  return out;
}

export function decodeSource(x: unknown): StreamSource {
  const out: StreamSource = { name: "", opt_start_seq: 0, opt_start_time: "", filter_subject: "", subject_transforms: [], external: null };
  if (x === null) return out;
  for (const [k, v] of fields(obj(x))) {
    switch (k) {
      case "name": out.name = str(v); break;
      case "opt_start_seq": out.opt_start_seq = int(v, 0, I64); break;
      case "opt_start_time":
        if (v === null) { out.opt_start_time = ""; break; }
        if (typeof v !== "string" || rfc3339ToNs(v) === null) throw new DecodeError();
        out.opt_start_time = goTime(v);
        break;
      case "filter_subject": out.filter_subject = str(v); break;
      case "subject_transforms":
        if (v === null) out.subject_transforms = [];
        else if (Array.isArray(v)) out.subject_transforms = v.map(decodeTransform);
        else throw new DecodeError();
        break;
      case "external": {
        if (v === null) { out.external = null; break; }
        const e: ExternalStream = { api: "", deliver: "" };
        for (const [ek, ev] of fields(obj(v))) {
          if (ek === "api") e.api = str(ev);
          else if (ek === "deliver") e.deliver = str(ev);
        }
        out.external = e;
        break;
      }
      default: break;
    }
  }
  return out;
}

/**
 * An RFC3339 time as Go marshals it back: the fraction without trailing zeros (none when all are
 * zero), a zero offset written "Z", any other offset kept.
 */
function goTime(t: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|z|[+-]\d\d:\d\d)$/.exec(t);
  if (m === null) return t;
  const frac = (m[2] ?? "").replace(/0+$/, "");
  const zone = m[3] === "z" || m[3] === "+00:00" || m[3] === "-00:00" ? "Z" : m[3]!;
  return `${m[1]}${frac === "" ? "" : `.${frac}`}${zone}`;
}

export function sourceJSON(s: StreamSource): JsonObject {
  const o: JsonObject = { name: s.name };
  if (s.opt_start_seq !== 0) o.opt_start_seq = s.opt_start_seq;
  if (s.opt_start_time !== "") o.opt_start_time = s.opt_start_time;
  if (s.filter_subject !== "") o.filter_subject = s.filter_subject;
  if (s.subject_transforms.length > 0) o.subject_transforms = s.subject_transforms.map((t) => ({ src: t.src, dest: t.dest }));
  if (s.external !== null) o.external = { api: s.external.api, deliver: s.external.deliver };
  return o;
}

export function rePublishJSON(r: RePublish): JsonObject {
  const o: JsonObject = {};
  if (r.src !== "") o.src = r.src;
  o.dest = r.dest;
  if (r.headers_only) o.headers_only = true;
  return o;
}

/**
 * nats-server composeIName: the source's name (with `:<hash of the API prefix>` for an external
 * one) with its filters and destinations.
 */
export function sourceIndexName(s: StreamSource): string {
  const name = sourceName(s);
  if (s.subject_transforms.length === 0) return [name, s.filter_subject === "" ? ">" : s.filter_subject, ">"].join(" ");
  const srcs = s.subject_transforms.map((t) => (t.src === "" ? ">" : t.src));
  const dests = s.subject_transforms.map((t) => (t.dest === "" ? ">" : t.dest));
  return [name, srcs.join("\f"), dests.join("\f")].join(" ");
}

/** The name a source's copies carry in Nats-Stream-Source: `<name>`, or `<name>:<hash>` for an external one. */
export function sourceName(s: StreamSource): string {
  return s.external === null ? s.name : `${s.name}:${nameHash(s.external.api)}`;
}

const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** nats-server getHash: 8 base-62 characters of the name's SHA-256. */
export function nameHash(name: string): string {
  const b = createHash("sha256").update(name).digest();
  let out = "";
  for (let i = 0; i < 8; i++) out += DIGITS[b[i]! % 62];
  return out;
}

/** nats-server isValidName. */
function validName(name: string): boolean {
  return name !== "" && !/[ \t\r\n\f.*>]/.test(name);
}

/** What the sourcing checks need from the rest of the config. */
export interface SourcingConfig {
  name: string;
  subjects: string[];
  first_seq: number;
  mirror: StreamSource | null;
  sources: StreamSource[] | null;
  subject_transform: SubjectTransformConfig | null;
  republish: RePublish | null;
}

/**
 * The mirror and source checks of nats-server 2.10's checkStreamCfg that need no other stream,
 * in its order; run before the subjects are checked (a mirror with subjects is refused first).
 */
export function checkMirrorAndSources(cfg: SourcingConfig, collide: (a: string, b: string) => boolean): void {
  const m = cfg.mirror;
  if (m !== null) {
    if (cfg.first_seq > 0) throw JsApiError.of(JsErrors.MirrorWithFirstSeq);
    if (cfg.subjects.length > 0) throw JsApiError.of(JsErrors.MirrorWithSubjects);
    if (cfg.sources !== null && cfg.sources.length > 0) throw JsApiError.of(JsErrors.MirrorWithSources);
    if (m.filter_subject !== "" && m.subject_transforms.length !== 0) throw JsApiError.of(JsErrors.MirrorMultipleFiltersNotAllowed);
    for (const [i, tr] of m.subject_transforms.entries()) {
      if (!isValidFilter(tr.src)) throw JsApiError.of(JsErrors.MirrorInvalidSubjectFilter);
      for (const [j, o] of m.subject_transforms.entries()) {
        if (i !== j && collide(tr.src, o.src)) throw JsApiError.of(JsErrors.MirrorOverlappingSubjectFilters);
      }
    }
    if (m.external === null && !validName(m.name)) throw JsApiError.of(JsErrors.MirrorInvalidStreamName);
    if (m.filter_subject !== "" && !isValidFilter(m.filter_subject)) throw JsApiError.of(JsErrors.MirrorInvalidSubjectFilter);
    for (const tr of m.subject_transforms) checkDest(tr, true);
  }
  const inames = new Set<string>();
  for (const src of cfg.sources ?? []) {
    if (!validName(src.name)) throw JsApiError.of(JsErrors.SourceInvalidStreamName);
    const iname = sourceIndexName(src);
    if (inames.has(iname)) throw JsApiError.of(JsErrors.SourceDuplicateDetected);
    inames.add(iname);
    // nats-server checks an external source's filters only on the other side.
    if (src.external !== null) continue;
    if (src.filter_subject !== "" && src.subject_transforms.length !== 0) throw JsApiError.of(JsErrors.SourceMultipleFiltersNotAllowed);
    for (const tr of src.subject_transforms) checkDest(tr, false);
    for (const [i, tr] of src.subject_transforms.entries()) {
      if (!isValidFilter(tr.src)) throw JsApiError.of(JsErrors.SourceInvalidSubjectFilter);
      for (const [j, o] of src.subject_transforms.entries()) {
        if (i !== j && subjectIsSubsetMatch(tr.src, o.src)) throw JsApiError.of(JsErrors.SourceOverlappingSubjectFilters);
      }
    }
    if (src.filter_subject !== "" && !isValidFilter(src.filter_subject)) throw JsApiError.of(JsErrors.SourceInvalidSubjectFilter);
  }
}

/** A source or mirror transform's destination compiles (an empty one means "keep the subject"). */
function checkDest(tr: SubjectTransformConfig, mirror: boolean): void {
  try {
    compileTransform(tr.src === "" ? ">" : tr.src, tr.dest);
  } catch (e) {
    if (!mirror) throw JsApiError.of(JsErrors.SourceInvalidTransformDestination);
    throw invalidConfig(`mirror transform: ${(e as Error).message}`);
  }
}

/**
 * nats-server 2.10's republish checks (after the subjects are final): an empty source is ">",
 * the destination may not feed the stream again, and the transform must compile.
 */
export function checkRePublish(cfg: SourcingConfig, collide: (a: string, b: string) => boolean): RePublish | null {
  const rp = cfg.republish;
  if (rp === null) return null;
  const out = { ...rp, src: rp.src === "" ? ">" : rp.src };
  if (cfg.subjects.some((s) => collide(out.dest, s))) throw invalidConfig("stream configuration for republish destination forms a cycle");
  try {
    compileTransform(out.src, out.dest);
  } catch {
    throw invalidConfig(`stream configuration for republish with transform from '${out.src}' to '${out.dest}' not valid`);
  }
  return out;
}

/** The stream's own subject_transform (checked when the stream is created or updated). */
export function subjectTransformError(tr: SubjectTransformConfig | null): string | null {
  if (tr === null) return null;
  try {
    compileTransform(tr.src, tr.dest);
    return null;
  } catch (e) {
    if (!(e instanceof TransformError)) throw e;
    return `stream subject transform from '${tr.src}' to '${tr.dest}': ${e.message}`;
  }
}

/** What the checks that look at other streams need to know of one. */
export interface OtherStream {
  subjects: string[];
  max_msg_size: number;
  allow_direct: boolean;
  mirror: StreamSource | null;
  sources: StreamSource[] | null;
}

/**
 * The checks of checkStreamCfg that look at the account's other streams: max message sizes
 * against the origins, the mirror inheriting its origin's allow_direct, and source cycles.
 * Returns mirror_direct as it should be set.
 */
export function checkAgainstStreams(
  cfg: SourcingConfig & { max_msg_size: number; mirror_direct: boolean },
  lookup: (name: string) => OtherStream | null,
  collide: (a: string, b: string) => boolean,
): boolean {
  let mirrorDirect = cfg.mirror_direct;
  const m = cfg.mirror;
  if (m !== null && m.external === null) {
    const o = lookup(m.name);
    if (o !== null) {
      if (cfg.max_msg_size > 0 && o.max_msg_size > 0 && cfg.max_msg_size < o.max_msg_size) throw JsApiError.of(JsErrors.MirrorMaxMessageSizeTooBig);
      mirrorDirect = o.allow_direct;
    }
  }
  for (const src of cfg.sources ?? []) {
    if (src.external !== null) continue;
    const o = lookup(src.name);
    if (o !== null && cfg.max_msg_size > 0 && o.max_msg_size > 0 && cfg.max_msg_size < o.max_msg_size) {
      throw JsApiError.of(JsErrors.SourceMaxMessageSizeTooBig);
    }
  }
  checkExternalPrefixes(cfg, lookup, collide);
  // Cycle check, breadth first from this stream through sources and mirrors.
  const toVisit: Array<{ name: string; subjects: string[]; mirror: StreamSource | null; sources: StreamSource[] | null }> = [cfg];
  const visited = new Set<string>();
  const overlaps = (subjects: string[], filter: string): boolean => filter === "" || subjects.some((s) => collide(s, filter));
  while (toVisit.length > 0) {
    const c = toVisit.shift()!;
    visited.add(c.name);
    for (const src of c.sources ?? []) {
      if (src.external !== null) continue;
      if (visited.has(src.name)) {
        if (overlaps(c.subjects, src.filter_subject)) throw invalidConfig("detected cycle");
      } else {
        const o = lookup(src.name);
        if (o !== null) toVisit.push({ name: src.name, ...o });
      }
    }
    const cm = c.mirror;
    if (cm !== null && cm.external === null) {
      if (visited.has(cm.name)) throw invalidConfig("detected cycle");
      const o = lookup(cm.name);
      if (o !== null) toVisit.push({ name: cm.name, ...o });
    }
  }
  return mirrorDirect;
}

/**
 * nats-server checkStreamCfg on `external`: each delivery prefix a literal subject that does not
 * take in the subjects of the local origins, each API prefix a literal subject other than
 * `$JS.API` (the account's own API).
 */
function checkExternalPrefixes(cfg: SourcingConfig, lookup: (name: string) => OtherStream | null, collide: (a: string, b: string) => boolean): void {
  const all = [...(cfg.mirror !== null ? [cfg.mirror] : []), ...(cfg.sources ?? [])];
  const originSubjects: string[] = [];
  const delivery: string[] = [];
  const api: string[] = [];
  for (const s of all) {
    if (s.external === null) {
      originSubjects.push(...(lookup(s.name)?.subjects ?? []));
      continue;
    }
    if (s.external.deliver !== "") delivery.push(s.external.deliver);
    if (s.external.api !== "") api.push(s.external.api);
  }
  for (const pfx of delivery) {
    if (!isValidLiteralSubject(toWire(pfx))) throw JsApiError.of(JsErrors.StreamInvalidExternalDeliverySubj, { prefix: pfx });
    for (const sub of originSubjects) {
      if (collide(sub, `${pfx}.${sub}`)) throw JsApiError.of(JsErrors.StreamExternalDelPrefixOverlaps, { prefix: pfx, subject: sub });
    }
  }
  for (const pfx of api) {
    if (!isValidLiteralSubject(toWire(pfx))) throw invalidConfig(`stream external api prefix ${JSON.stringify(pfx)} must be a valid subject without wildcards`);
    if (collide(pfx, "$JS.API")) throw JsApiError.of(JsErrors.StreamExternalApiOverlap, { prefix: pfx, subject: "$JS.API" });
  }
}

/**
 * What a mirror or source takes from its origin, in wire form: the filters (none: everything) and,
 * beside each, its subject transform (null: the subject is kept). Local and remote copies alike.
 */
export function sourceFilters(cfg: StreamSource): { filters: string[]; trs: Array<SubjectTransform | null> } {
  if (cfg.subject_transforms.length === 0) return { filters: cfg.filter_subject === "" ? [] : [toWire(cfg.filter_subject)], trs: [] };
  return {
    filters: cfg.subject_transforms.map((t) => toWire(t.src === "" ? ">" : t.src)),
    trs: cfg.subject_transforms.map((t) => compileTransform(toWire(t.src), toWire(t.dest))),
  };
}
