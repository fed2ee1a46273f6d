// Stream configuration: decoding a request the way Go's encoding/json decodes nats-server's
// StreamConfig (unknown fields ignored, a wrong type anywhere is "invalid JSON"), the defaults and
// checks of nats-server's checkStreamCfg, the rules of configUpdateCheck, and the JSON written
// back (field order and omitempty as nats-server 2.10 marshals it).

import { isValidSubject, subjectsCollide } from "./subjects.js";
import { subjectIsSubsetMatch } from "../../protocol/subject.js";
import { bool, decodeJson, DecodeError, I64, int, objOrNull, oneOf, str, type JsonObject } from "./decode.js";
import { invalidConfig, JsApiError, JsErrors } from "./errors.js";
import {
  checkMirrorAndSources, checkRePublish, decodeRePublish, decodeSource, decodeTransform, rePublishJSON, sourceJSON,
  type RePublish, type StreamSource, type SubjectTransformConfig,
} from "./source-config.js";

export type RetentionPolicy = "limits" | "interest" | "workqueue";
export type DiscardPolicy = "old" | "new";
export type StorageKind = "file" | "memory";
export type Compression = "none" | "s2";

/** Plain JSON sub-objects gnat records but does not act on (placement, mirror, …). */
export type { JsonObject };

export interface StreamConfig {
  name: string;
  description: string;
  subjects: string[];
  retention: RetentionPolicy;
  max_consumers: number;
  max_msgs: number;
  max_bytes: number;
  /** Nanoseconds. */
  max_age: number;
  max_msgs_per_subject: number;
  max_msg_size: number;
  discard: DiscardPolicy;
  storage: StorageKind;
  num_replicas: number;
  no_ack: boolean;
  template_owner: string;
  /** Nanoseconds. */
  duplicate_window: number;
  placement: JsonObject | null;
  mirror: StreamSource | null;
  sources: StreamSource[] | null;
  compression: Compression;
  first_seq: number;
  subject_transform: SubjectTransformConfig | null;
  republish: RePublish | null;
  allow_direct: boolean;
  mirror_direct: boolean;
  discard_new_per_subject: boolean;
  sealed: boolean;
  deny_delete: boolean;
  deny_purge: boolean;
  allow_rollup_hdrs: boolean;
  consumer_limits: { inactive_threshold?: number; max_ack_pending?: number };
  metadata: Record<string, string> | null;
}

/** Go's zero value of StreamConfig: what a field left out of the request decodes to. */
export function zeroConfig(): StreamConfig {
  return {
    name: "", description: "", subjects: [], retention: "limits", max_consumers: 0, max_msgs: 0,
    max_bytes: 0, max_age: 0, max_msgs_per_subject: 0, max_msg_size: 0, discard: "old",
    storage: "file", num_replicas: 0, no_ack: false, template_owner: "", duplicate_window: 0,
    placement: null, mirror: null, sources: null, compression: "none", first_seq: 0,
    subject_transform: null, republish: null, allow_direct: false, mirror_direct: false,
    discard_new_per_subject: false, sealed: false, deny_delete: false, deny_purge: false,
    allow_rollup_hdrs: false, consumer_limits: {}, metadata: null,
  };
}

/** nats-server limits (jetstream_api.go). */
export const JS_MAX_NAME_LEN = 255;
export const JS_MAX_DESCRIPTION_LEN = 4 * 1024;
export const JS_MAX_METADATA_LEN = 128 * 1024;
const NS_PER_MS = 1_000_000;
export const DEFAULT_DUPLICATE_WINDOW_NS = 2 * 60 * 1000 * NS_PER_MS;
const MIN_WINDOW_NS = 100 * NS_PER_MS;
const STREAM_MAX_REPLICAS = 5;

const INT32 = 2 ** 31 - 1;

/**
 * Decode request bytes into a StreamConfig. Throws JsApiError(InvalidJSON) where Go's
 * json.Unmarshal would fail: bad syntax, or a known field of the wrong type or enum value.
 */
export function decodeStreamConfig(raw: Buffer | string): StreamConfig {
  return decodeJson(raw, zeroConfig(), applyFields);
}


function applyFields(cfg: StreamConfig, v: JsonObject): void {
  // Go matches JSON keys to struct tags case-insensitively; the exact key wins when both occur.
  const seen = new Map<string, unknown>();
  for (const [k, x] of Object.entries(v)) {
    const l = k.toLowerCase();
    if (!seen.has(l) || k === l) seen.set(l, x);
  }
  for (const [k, x] of seen) {
    switch (k) {
      case "name": cfg.name = str(x); break;
      case "description": cfg.description = str(x); break;
      case "subjects":
        if (x === null) cfg.subjects = [];
        else if (Array.isArray(x)) cfg.subjects = x.map(str);
        else throw new DecodeError();
        break;
      case "retention": if (x !== null) cfg.retention = oneOf(x, ["limits", "interest", "workqueue"] as const); else throw new DecodeError(); break;
      case "max_consumers": cfg.max_consumers = int(x, -I64, I64); break;
      case "max_msgs": cfg.max_msgs = int(x, -I64, I64); break;
      case "max_bytes": cfg.max_bytes = int(x, -I64, I64); break;
      case "max_age": cfg.max_age = int(x, -I64, I64); break;
      case "max_msgs_per_subject": cfg.max_msgs_per_subject = int(x, -I64, I64); break;
      case "max_msg_size": cfg.max_msg_size = int(x, -INT32 - 1, INT32); break;
      case "discard": if (x !== null) cfg.discard = oneOf(x, ["old", "new"] as const, true); else throw new DecodeError(); break;
      case "storage": {
        if (x === null) throw new DecodeError();
        const s = oneOf(x, ["file", "memory", "any"] as const);
        cfg.storage = s === "memory" ? "memory" : "file";
        break;
      }
      case "num_replicas": cfg.num_replicas = int(x, -I64, I64); break;
      case "no_ack": cfg.no_ack = bool(x); break;
      case "template_owner": cfg.template_owner = str(x); break;
      case "duplicate_window": cfg.duplicate_window = int(x, -I64, I64); break;
      case "placement": cfg.placement = objOrNull(x); break;
      case "mirror": cfg.mirror = x === null ? null : decodeSource(x); break;
      case "sources":
        if (x === null) cfg.sources = null;
        else if (Array.isArray(x)) cfg.sources = x.map(decodeSource);
        else throw new DecodeError();
        break;
      case "compression": if (x !== null) cfg.compression = oneOf(x, ["none", "s2"] as const); else throw new DecodeError(); break;
      case "first_seq": cfg.first_seq = int(x, 0, I64); break;
      case "subject_transform": cfg.subject_transform = x === null ? null : decodeTransform(x); break;
      case "republish": cfg.republish = x === null ? null : decodeRePublish(x); break;
      case "allow_direct": cfg.allow_direct = bool(x); break;
      case "mirror_direct": cfg.mirror_direct = bool(x); break;
      case "discard_new_per_subject": cfg.discard_new_per_subject = bool(x); break;
      case "sealed": cfg.sealed = bool(x); break;
      case "deny_delete": cfg.deny_delete = bool(x); break;
      case "deny_purge": cfg.deny_purge = bool(x); break;
      case "allow_rollup_hdrs": cfg.allow_rollup_hdrs = bool(x); break;
      case "consumer_limits": {
        const o = objOrNull(x);
        cfg.consumer_limits = {};
        if (o !== null) {
          for (const [ck, cx] of Object.entries(o)) {
            const cl = ck.toLowerCase();
            if (cl === "inactive_threshold") { const n = int(cx, -I64, I64); if (n !== 0) cfg.consumer_limits.inactive_threshold = n; }
            if (cl === "max_ack_pending") { const n = int(cx, -I64, I64); if (n !== 0) cfg.consumer_limits.max_ack_pending = n; }
          }
        }
        break;
      }
      case "metadata": {
        const o = objOrNull(x);
        if (o === null) { cfg.metadata = null; break; }
        const m: Record<string, string> = {};
        for (const [mk, mx] of Object.entries(o)) m[mk] = str(mx);
        cfg.metadata = m;
        break;
      }
      default:
        // Unknown fields are ignored, as Go's json.Unmarshal ignores them.
        break;
    }
  }
}

/** nats-server isValidName: non-empty, no whitespace, '.', '*' or '>'. */
export function isValidName(name: string): boolean {
  return name !== "" && !/[ \t\r\n\f.*>]/.test(name);
}

/** What checkStreamCfg needs to know about the account's other streams. */
export interface CheckContext {
  /** nats-server's server-wide duplicates limit; 0 means none. */
  maxDuplicatesNs?: number;
}

/**
 * nats-server checkStreamCfg for a standalone server: fill defaults, validate. Returns a new
 * config; throws JsApiError with nats-server's error for the first problem found.
 */
export function checkStreamConfig(input: StreamConfig, _ctx: CheckContext = {}): StreamConfig {
  if (!isValidName(input.name)) throw invalidConfig("stream name is required and can not contain '.', '*', '>'");
  if (input.name.length > JS_MAX_NAME_LEN) throw invalidConfig(`stream name is too long, maximum allowed is ${JS_MAX_NAME_LEN}`);
  if (input.description.length > JS_MAX_DESCRIPTION_LEN) throw invalidConfig(`stream description is too long, maximum allowed is ${JS_MAX_DESCRIPTION_LEN}`);
  let metaLen = 0;
  for (const [k, v] of Object.entries(input.metadata ?? {})) metaLen += k.length + v.length;
  if (metaLen > JS_MAX_METADATA_LEN) throw invalidConfig(`stream metadata exceeds maximum size of ${JS_MAX_METADATA_LEN} bytes`);

  const cfg: StreamConfig = { ...input, subjects: [...input.subjects], consumer_limits: { ...input.consumer_limits } };
  if (cfg.num_replicas === 0) cfg.num_replicas = 1;
  if (cfg.num_replicas > STREAM_MAX_REPLICAS) throw invalidConfig(`maximum replicas is ${STREAM_MAX_REPLICAS}`);
  if (cfg.num_replicas < 0) throw JsApiError.of(JsErrors.ReplicasCountCannotBeNegative);
  if (cfg.max_msgs === 0) cfg.max_msgs = -1;
  if (cfg.max_msgs_per_subject === 0) cfg.max_msgs_per_subject = -1;
  if (cfg.max_bytes === 0) cfg.max_bytes = -1;
  if (cfg.max_msg_size === 0) cfg.max_msg_size = -1;
  if (cfg.max_consumers === 0) cfg.max_consumers = -1;
  // nats-server 2.10: a mirror keeps no duplicate window (sources do, as 2.9.10 and 2.10 do).
  if (cfg.duplicate_window === 0 && cfg.mirror === null) {
    cfg.duplicate_window = cfg.max_age !== 0 && cfg.max_age < DEFAULT_DUPLICATE_WINDOW_NS ? cfg.max_age : DEFAULT_DUPLICATE_WINDOW_NS;
  }
  if (cfg.max_age > 0 && cfg.max_age < MIN_WINDOW_NS) throw invalidConfig("max age needs to be >= 100ms");
  if (cfg.duplicate_window < 0) throw invalidConfig("duplicates window can not be negative");
  if (cfg.max_age !== 0 && cfg.duplicate_window > cfg.max_age) throw invalidConfig("duplicates window can not be larger then max age");
  if (cfg.duplicate_window > 0 && cfg.duplicate_window < MIN_WINDOW_NS) throw invalidConfig("duplicates window needs to be >= 100ms");
  if (cfg.deny_purge && cfg.allow_rollup_hdrs) throw invalidConfig("roll-ups require the purge permission");
  if (cfg.discard_new_per_subject) {
    if (cfg.discard !== "new") throw invalidConfig("discard new per subject requires discard new policy to be set");
    if (cfg.max_msgs_per_subject <= 0) throw invalidConfig("discard new per subject requires max msgs per subject > 0");
  }

  checkMirrorAndSources(cfg, subjectsCollide);

  if (cfg.subjects.length === 0) {
    // A mirror or a stream with sources takes no subjects of its own unless given some.
    if (cfg.mirror === null && (cfg.sources === null || cfg.sources.length === 0)) cfg.subjects.push(cfg.name);
  } else {
    const dset = new Set<string>();
    for (const subj of cfg.subjects) {
      if (!isValidSubject(subj)) throw invalidConfig("invalid subject");
      if (dset.has(subj)) throw invalidConfig("duplicate subjects detected");
      if (subj === ">") {
        if (!cfg.no_ack) throw invalidConfig("capturing all subjects requires no-ack to be true");
        if (cfg.num_replicas !== 1) throw invalidConfig("capturing all subjects requires replicas of 1");
      }
      if (!cfg.no_ack) {
        for (const ns of ["$JS.>", "$JSC.>", "$NRG.>"]) {
          if (subjectsCollide(subj, ns) && !subjectIsSubsetMatch(subj, "$JS.EVENT.>")) {
            throw invalidConfig("subjects that overlap with jetstream api require no-ack to be true");
          }
        }
        if (subjectsCollide(subj, "$SYS.>") && !subjectIsSubsetMatch(subj, "$SYS.ACCOUNT.>")) {
          throw invalidConfig("subjects that overlap with system api require no-ack to be true");
        }
      }
      dset.add(subj);
    }
  }
  if (cfg.subjects.length > 1) {
    for (const subj of cfg.subjects) {
      for (const t of cfg.subjects) {
        if (t !== subj && subjectsCollide(t, subj)) throw invalidConfig(`subject ${goQuote(subj)} overlaps with ${goQuote(t)}`);
      }
    }
  }
  cfg.republish = checkRePublish(cfg, subjectsCollide);
  return cfg;
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** nats-server configUpdateCheck: what an update may change. `next` is already checked. */
export function checkStreamUpdate(old: StreamConfig, next: StreamConfig): StreamConfig {
  const cfg: StreamConfig = { ...next };
  if (cfg.name !== old.name) throw invalidConfig("stream configuration name must match original");
  if (cfg.max_consumers !== old.max_consumers) throw invalidConfig("stream configuration update can not change MaxConsumers");
  if (cfg.storage !== old.storage) throw invalidConfig("stream configuration update can not change storage type");
  if (cfg.retention !== old.retention && (old.retention === "workqueue" || cfg.retention === "workqueue")) {
    throw invalidConfig("stream configuration update can not change retention policy to/from workqueue");
  }
  if (old.template_owner !== "") throw invalidConfig("stream configuration update not allowed on template owned stream");
  if (cfg.template_owner !== "") throw invalidConfig("stream configuration update can not be owned by a template");
  if (!cfg.sealed && old.sealed) throw invalidConfig("stream configuration update can not unseal a sealed stream");
  if (!cfg.deny_delete && old.deny_delete) throw invalidConfig("stream configuration update can not cancel deny message deletes");
  if (!cfg.deny_purge && old.deny_purge) throw invalidConfig("stream configuration update can not cancel deny purge");
  // nats-server 2.10: a mirror's configuration is fixed, and a stream can not become or stop being one.
  if (JSON.stringify(old.mirror === null ? null : sourceJSON(old.mirror)) !== JSON.stringify(cfg.mirror === null ? null : sourceJSON(cfg.mirror))) {
    throw JsApiError.of(JsErrors.StreamMirrorNotUpdatable);
  }
  if (cfg.sealed) {
    // A sealed stream keeps everything it has and takes nothing more.
    cfg.max_age = 0;
    cfg.discard = "new";
    cfg.deny_delete = true;
    cfg.deny_purge = true;
    cfg.allow_rollup_hdrs = false;
  }
  return cfg;
}

/** Two checked configs are the same stream definition (nats-server: reflect.DeepEqual). */
export function sameConfig(a: StreamConfig, b: StreamConfig): boolean {
  return JSON.stringify(configJSON(a)) === JSON.stringify(configJSON(b));
}

/** The config as nats-server 2.10 marshals StreamConfig: field order and omitempty kept. */
export function configJSON(c: StreamConfig): JsonObject {
  const o: JsonObject = { name: c.name };
  if (c.description !== "") o.description = c.description;
  if (c.subjects.length > 0) o.subjects = c.subjects;
  o.retention = c.retention;
  o.max_consumers = c.max_consumers;
  o.max_msgs = c.max_msgs;
  o.max_bytes = c.max_bytes;
  o.max_age = c.max_age;
  o.max_msgs_per_subject = c.max_msgs_per_subject;
  if (c.max_msg_size !== 0) o.max_msg_size = c.max_msg_size;
  o.discard = c.discard;
  o.storage = c.storage;
  o.num_replicas = c.num_replicas;
  if (c.no_ack) o.no_ack = true;
  if (c.template_owner !== "") o.template_owner = c.template_owner;
  if (c.duplicate_window !== 0) o.duplicate_window = c.duplicate_window;
  if (c.placement !== null) o.placement = c.placement;
  if (c.mirror !== null) o.mirror = sourceJSON(c.mirror);
  if (c.sources !== null && c.sources.length > 0) o.sources = c.sources.map(sourceJSON);
  o.compression = c.compression;
  if (c.first_seq !== 0) o.first_seq = c.first_seq;
  if (c.subject_transform !== null) o.subject_transform = { src: c.subject_transform.src, dest: c.subject_transform.dest };
  if (c.republish !== null) o.republish = rePublishJSON(c.republish);
  o.allow_direct = c.allow_direct;
  o.mirror_direct = c.mirror_direct;
  if (c.discard_new_per_subject) o.discard_new_per_subject = true;
  o.sealed = c.sealed;
  o.deny_delete = c.deny_delete;
  o.deny_purge = c.deny_purge;
  o.allow_rollup_hdrs = c.allow_rollup_hdrs;
  const cl: JsonObject = {};
  if (c.consumer_limits.inactive_threshold !== undefined) cl.inactive_threshold = c.consumer_limits.inactive_threshold;
  if (c.consumer_limits.max_ack_pending !== undefined) cl.max_ack_pending = c.consumer_limits.max_ack_pending;
  o.consumer_limits = cl;
  if (c.metadata !== null && Object.keys(c.metadata).length > 0) o.metadata = c.metadata;
  return o;
}
