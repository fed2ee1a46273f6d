// The JetStream API: request-reply on $JS.API.>, one handler per subject, replies shaped as
// nats-server's (jetstream_api.go): a "type", then either the error or the payload. Requests to
// subjects nats-server does not serve here get no reply, as from nats-server.

import { fromWire, tokensMatch } from "../../protocol/subject.js";
import type { InternalMsg, InternalSubscription } from "../core/internal-client.js";
import { err, INVALID_JSON, isEmptyRequest, LIST_LIMIT, NAMES_LIMIT, ok, type Reply } from "./api-reply.js";
import { checkStreamConfig, decodeStreamConfig, type JsonObject } from "./config.js";
import { boolField, decodeObject, intField, strField, uintField } from "./decode.js";
import { apiError, JsApiError, JsErrors, type ApiError, type ErrorDef } from "./errors.js";
import type { JetStream } from "./jetstream.js";
import { goJSON } from "./json.js";
import { parseMsgGetRequest } from "./direct-get.js";
import { streamRestore, streamSnapshot } from "./backup.js";
import { consumerCreate, consumerDelete, consumerInfo, consumerList, consumerNames } from "./consumer/api.js";
import { tsToRFC3339, type PurgeRequest } from "./store.js";

export const API_PREFIX = "$JS.API";

// domainMappings lives in protocol/js-domain.ts (the server maps with it before JetStream is read).
export { domainMappings } from "../../protocol/js-domain.js";

const T = {
  AccountInfo: "io.nats.jetstream.api.v1.account_info_response",
  StreamCreate: "io.nats.jetstream.api.v1.stream_create_response",
  StreamUpdate: "io.nats.jetstream.api.v1.stream_update_response",
  StreamInfo: "io.nats.jetstream.api.v1.stream_info_response",
  StreamNames: "io.nats.jetstream.api.v1.stream_names_response",
  StreamList: "io.nats.jetstream.api.v1.stream_list_response",
  StreamDelete: "io.nats.jetstream.api.v1.stream_delete_response",
  StreamPurge: "io.nats.jetstream.api.v1.stream_purge_response",
  MsgGet: "io.nats.jetstream.api.v1.stream_msg_get_response",
  MsgDelete: "io.nats.jetstream.api.v1.stream_msg_delete_response",
} as const;

/** nats-server JSMaxSubjectDetails. */
const MAX_SUBJECT_DETAILS = 100_000;

export type Handler = (js: JetStream, tokens: string[], m: InternalMsg) => Reply | Promise<Reply>;

/** Subjects after "$JS.API.", "*" for one token (the stream name). */
const ROUTES: Array<[string[], Handler]> = [
  [["INFO"], accountInfo],
  [["STREAM", "CREATE", "*"], streamCreate],
  [["STREAM", "UPDATE", "*"], streamUpdate],
  [["STREAM", "NAMES"], streamNames],
  [["STREAM", "LIST"], streamList],
  [["STREAM", "INFO", "*"], streamInfo],
  [["STREAM", "DELETE", "*"], streamDelete],
  [["STREAM", "PURGE", "*"], streamPurge],
  [["STREAM", "MSG", "GET", "*"], msgGet],
  [["STREAM", "MSG", "DELETE", "*"], msgDelete],
  [["STREAM", "SNAPSHOT", "*"], streamSnapshot],
  [["STREAM", "RESTORE", "*"], streamRestore],
  [["CONSUMER", "CREATE", "*"], consumerCreate],
  [["CONSUMER", "CREATE", "*", "*"], consumerCreate],
  [["CONSUMER", "CREATE", "*", "*", ">"], consumerCreate],
  [["CONSUMER", "DURABLE", "CREATE", "*", "*"], consumerCreate],
  [["CONSUMER", "INFO", "*", "*"], consumerInfo],
  [["CONSUMER", "DELETE", "*", "*"], consumerDelete],
  [["CONSUMER", "NAMES", "*"], consumerNames],
  [["CONSUMER", "LIST", "*"], consumerList],
];

/** The handler for an API subject's tokens after `$JS.API.`, matched as subjects are (protocol/subject.ts). */
function route(tokens: string[]): Handler | null {
  const rest = tokens.join(".");
  for (const [pattern, h] of ROUTES) if (tokensMatch(pattern, rest)) return h;
  return null;
}

/** Serve the API for one account's JetStream. Returns the subscription (unsubscribe to stop). */
export function serveApi(js: JetStream): InternalSubscription {
  return js.ic.subscribe(`${API_PREFIX}.>`, (m) => {
    const tokens = m.subject.split(".").slice(2);
    const h = route(tokens);
    if (h === null) return;
    const send = (r: Reply): void => {
      if (r.counted !== "uncounted") {
        js.apiTotal++;
        if (r.counted === "error") js.apiErrors++;
      }
      const response = goJSON(r.body);
      if (m.reply !== "") js.ic.publish(m.reply, response);
      js.advisories.apiAudit(js.opts.serverName, js.opts.clientInfo?.(m.fromCid) ?? null, m.subject, m.data.toString("utf8"), response);
    };
    // Handlers read the request synchronously: its bytes may be a view of a socket buffer.
    let r: Reply | Promise<Reply>;
    try {
      r = h(js, tokens, m);
    } catch (e) {
      r = failure(tokens, e);
    }
    if (r instanceof Promise) void r.catch((e: unknown) => failure(tokens, e)).then(send);
    else send(r);
  });
}

/** An unexpected exception: reported with the handler's type as a general stream error. */
function failure(tokens: string[], e: unknown): Reply {
  const type = tokens[0] === "INFO" ? T.AccountInfo : T.StreamInfo;
  if (e instanceof JsApiError) return err(type, e.api);
  return err(type, apiError(JsErrors.StreamGeneralError, { err: e instanceof Error ? e.message : String(e) }));
}

/** The ApiError of a caught exception, or `wrap` around its text (nats-server's Unless). */
function asApiError(e: unknown, wrap: ErrorDef): ApiError {
  if (e instanceof JsApiError) return e.api;
  return apiError(wrap, { err: e instanceof Error ? e.message : String(e) });
}

// ---- handlers ---------------------------------------------------------------------------------

function accountInfo(js: JetStream): Reply {
  return ok({ type: T.AccountInfo, ...js.accountInfoJSON() });
}

function streamCreate(js: JetStream, tokens: string[], m: InternalMsg): Reply {
  const name = tokens[2]!;
  let cfg;
  try {
    cfg = decodeStreamConfig(m.data);
  } catch (e) {
    return err(T.StreamCreate, asApiError(e, JsErrors.StreamCreate));
  }
  if (cfg.name !== name) return err(T.StreamCreate, apiError(JsErrors.StreamMismatch));
  if (/[\\/]/.test(name)) return err(T.StreamCreate, apiError(JsErrors.StreamNameContainsPathSeparators));
  if (cfg.sealed) return err(T.StreamCreate, apiError(JsErrors.StreamInvalidConfig, { err: "stream configuration for create can not be sealed" }));
  if (cfg.mirror_direct && cfg.mirror === null) {
    return err(T.StreamCreate, apiError(JsErrors.StreamInvalidConfig, { err: "stream has no mirror but does have mirror direct" }));
  }
  try {
    const s = js.addStream(cfg);
    const info = s.infoJSON();
    return ok({ type: T.StreamCreate, config: info.config, created: info.created, state: info.state, ts: info.ts, did_create: true });
  } catch (e) {
    return err(T.StreamCreate, asApiError(e, JsErrors.StreamCreate));
  }
}

function streamUpdate(js: JetStream, tokens: string[], m: InternalMsg): Reply {
  const name = tokens[2]!;
  try {
    const cfg = checkStreamConfig(decodeStreamConfig(m.data));
    if (cfg.name !== name) return err(T.StreamUpdate, apiError(JsErrors.StreamMismatch));
    const s = js.updateStream(cfg);
    const info = s.infoJSON(false, "", null, js.domain);
    return ok({ type: T.StreamUpdate, ...info });
  } catch (e) {
    return err(T.StreamUpdate, asApiError(e, JsErrors.StreamUpdate));
  }
}

/** A names or list request: { offset, subject } (both optional); null when malformed. */
function pagedFilter(m: InternalMsg): { offset: number; filter: string } | null {
  if (isEmptyRequest(m.data)) return { offset: 0, filter: "" };
  const o = decodeObject(m.data);
  const offset = o === null ? null : intField(o, "offset");
  const filter = o === null ? null : strField(o, "subject");
  return offset === null || filter === null ? null : { offset, filter };
}

function streamNames(js: JetStream, _tokens: string[], m: InternalMsg): Reply {
  const req = pagedFilter(m);
  if (req === null) return err(T.StreamNames, INVALID_JSON(), { total: 0, offset: 0, limit: 0, streams: null });
  const all = js.filteredStreams(req.filter);
  const offset = Math.max(0, Math.min(req.offset, all.length));
  const page = all.slice(offset, offset + NAMES_LIMIT).map((s) => s.name);
  return ok({ type: T.StreamNames, total: all.length, offset, limit: NAMES_LIMIT, streams: page.length > 0 ? page : null });
}

function streamList(js: JetStream, _tokens: string[], m: InternalMsg): Reply {
  const req = pagedFilter(m);
  if (req === null) return err(T.StreamList, INVALID_JSON(), { total: 0, offset: 0, limit: 0, streams: [] });
  const all = js.filteredStreams(req.filter);
  const offset = Math.max(0, Math.min(req.offset, all.length));
  const streams = all.slice(offset, offset + LIST_LIMIT).map((s) => s.infoJSON(false, "", null, js.domain));
  return ok({ type: T.StreamList, total: all.length, offset, limit: LIST_LIMIT, streams });
}

function streamInfo(js: JetStream, tokens: string[], m: InternalMsg): Reply {
  const name = tokens[2]!;
  const paged = { total: 0, offset: 0, limit: 0 };
  let details = false;
  let subjects = "";
  let offset = 0;
  if (!isEmptyRequest(m.data)) {
    const o = decodeObject(m.data);
    const d = o === null ? null : boolField(o, "deleted_details");
    const sf = o === null ? null : strField(o, "subjects_filter");
    const off = o === null ? null : intField(o, "offset");
    if (d === null || sf === null || off === null) return err(T.StreamInfo, INVALID_JSON(), paged);
    details = d;
    subjects = sf;
    offset = off;
  }
  const s = js.streams.get(name);
  if (s === undefined) return err(T.StreamInfo, apiError(JsErrors.StreamNotFound), paged);
  const info = s.infoJSON(details, "", { leader: js.serverName }, js.domain);
  if (subjects !== "") {
    const count = s.subjectsCount(subjects);
    if (count > 0) {
      paged.total = count;
      paged.offset = offset;
      paged.limit = MAX_SUBJECT_DETAILS;
      if (offset === 0 && count <= MAX_SUBJECT_DETAILS) {
        info.state = s.stateJSON(details, subjects);
      } else {
        // A page of the sorted subjects.
        const full = s.stateJSON(details, subjects);
        const all = (full.subjects ?? {}) as Record<string, number>;
        const keys = Object.keys(all).sort();
        const from = Math.min(Math.max(offset, 0), keys.length);
        const page: Record<string, number> = {};
        for (const k of keys.slice(from, from + MAX_SUBJECT_DETAILS)) page[k] = all[k]!;
        if (Object.keys(page).length > 0) full.subjects = page;
        else delete full.subjects;
        info.state = full;
      }
    }
  }
  return ok({ type: T.StreamInfo, ...paged, ...info });
}

async function streamDelete(js: JetStream, tokens: string[], m: InternalMsg): Promise<Reply> {
  if (!isEmptyRequest(m.data)) return err(T.StreamDelete, apiError(JsErrors.NotEmptyRequest));
  const name = tokens[2]!;
  if (!js.streams.has(name)) return err(T.StreamDelete, apiError(JsErrors.StreamNotFound));
  try {
    await js.deleteStream(name);
  } catch (e) {
    return err(T.StreamDelete, asApiError(e, JsErrors.StreamDelete));
  }
  return ok({ type: T.StreamDelete, success: true });
}

function streamPurge(js: JetStream, tokens: string[], m: InternalMsg): Reply {
  const name = tokens[2]!;
  let req: PurgeRequest | undefined;
  if (!isEmptyRequest(m.data)) {
    const o = decodeObject(m.data);
    const seq = o === null ? null : uintField(o, "seq");
    const filter = o === null ? null : strField(o, "filter");
    const keep = o === null ? null : uintField(o, "keep");
    if (seq === null || filter === null || keep === null) return err(T.StreamPurge, INVALID_JSON(), { purged: 0 });
    if (seq > 0 && keep > 0) return err(T.StreamPurge, apiError(JsErrors.BadRequest), { purged: 0 });
    req = {};
    if (seq > 0) req.seq = seq;
    if (keep > 0) req.keep = keep;
    if (filter !== "") req.filter = filter;
  }
  const s = js.streams.get(name);
  if (s === undefined) return err(T.StreamPurge, apiError(JsErrors.StreamNotFound), { purged: 0 });
  if (s.config.sealed) return err(T.StreamPurge, apiError(JsErrors.StreamSealed), { purged: 0 });
  if (s.config.deny_purge) return err(T.StreamPurge, apiError(JsErrors.StreamPurgeFailed, { err: "stream purge not permitted" }), { purged: 0 });
  try {
    const purged = s.purge(req);
    return ok({ type: T.StreamPurge, success: true, purged });
  } catch (e) {
    return err(T.StreamPurge, asApiError(e, JsErrors.StreamPurgeFailed), { purged: 0 });
  }
}

function msgDelete(js: JetStream, tokens: string[], m: InternalMsg): Reply {
  const name = tokens[3]!;
  if (isEmptyRequest(m.data)) return err(T.MsgDelete, apiError(JsErrors.BadRequest));
  const o = decodeObject(m.data);
  const seq = o === null ? null : uintField(o, "seq");
  const noErase = o === null ? null : boolField(o, "no_erase");
  if (seq === null || noErase === null) return err(T.MsgDelete, INVALID_JSON());
  const s = js.streams.get(name);
  if (s === undefined) return err(T.MsgDelete, apiError(JsErrors.StreamNotFound));
  if (s.config.sealed) return err(T.MsgDelete, apiError(JsErrors.StreamSealed));
  if (s.config.deny_delete) return err(T.MsgDelete, apiError(JsErrors.StreamMsgDeleteFailed, { err: "message delete not permitted" }));
  // nats-server sends the outcome of the delete itself through sendAPIResponse: never counted as an error.
  if (s.config.storage === "file") {
    // nats-server's file store reports a sequence outside [first, last] as a failure, not as
    // "sequence not found" (that is for gaps inside); its memory store says "not found" for both.
    const st = s.store.fastState();
    if (seq === 0 || seq < st.first_seq || seq > st.last_seq || st.msgs === 0) {
      const text = seq !== 0 && seq > st.last_seq ? "stream store EOF" : "no message found";
      return { body: { type: T.MsgDelete, error: apiError(JsErrors.StreamMsgDeleteFailed, { err: text }) }, counted: "ok" };
    }
  }
  let removed: boolean;
  try {
    removed = s.removeMsg(seq, !noErase);
  } catch (e) {
    return { body: { type: T.MsgDelete, error: asApiError(e, JsErrors.StreamMsgDeleteFailed) }, counted: "ok" };
  }
  if (!removed) return { body: { type: T.MsgDelete, error: apiError(JsErrors.SequenceNotFound, { seq }) }, counted: "ok" };
  return ok({ type: T.MsgDelete, success: true });
}

function msgGet(js: JetStream, tokens: string[], m: InternalMsg): Reply {
  const name = tokens[3]!;
  if (isEmptyRequest(m.data)) return err(T.MsgGet, apiError(JsErrors.BadRequest));
  const req = parseMsgGetRequest(m.data);
  if (req === null) return err(T.MsgGet, INVALID_JSON());
  const { seq, lastFor, nextFor } = req;
  if ((seq > 0 && lastFor !== "") || (seq === 0 && lastFor === "" && nextFor === "")) return err(T.MsgGet, apiError(JsErrors.BadRequest));
  if (lastFor !== "" && nextFor !== "") return err(T.MsgGet, apiError(JsErrors.BadRequest));
  const s = js.streams.get(name);
  if (s === undefined) return err(T.MsgGet, apiError(JsErrors.StreamNotFound));
  const sm = s.getMsg(seq, lastFor, nextFor);
  if (sm === null) return err(T.MsgGet, apiError(JsErrors.NoMessageFound));
  const message: JsonObject = { subject: fromWire(sm.subject), seq: sm.seq };
  if (sm.hdr !== null && sm.hdr.length > 0) message.hdrs = sm.hdr.toString("base64");
  if (sm.data.length > 0) message.data = sm.data.toString("base64");
  message.time = tsToRFC3339(sm.ts);
  // nats-server replies to a successful get without going through its API accounting.
  return { body: { type: T.MsgGet, message }, counted: "uncounted" };
}
