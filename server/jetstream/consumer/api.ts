// The consumer half of the JetStream API (nats-server jetstream_api.go jsConsumer*Request):
// create (three subject forms), info, names, list, delete. Pull requests and acks are not API
// requests: each consumer serves its own MSG.NEXT subject, and the account serves $JS.ACK.>.

import type { InternalMsg } from "../../core/internal-client.js";
import { decodeCreateRequest } from "./config.js";
import { apiError, JsApiError, JsErrors } from "../errors.js";
import { err, isEmptyRequest, LIST_LIMIT, NAMES_LIMIT, ok, type Reply } from "../api-reply.js";
import { decodeObject, intField } from "../decode.js";
import type { JetStream } from "../jetstream.js";

const T = {
  Create: "io.nats.jetstream.api.v1.consumer_create_response",
  Info: "io.nats.jetstream.api.v1.consumer_info_response",
  Names: "io.nats.jetstream.api.v1.consumer_names_response",
  List: "io.nats.jetstream.api.v1.consumer_list_response",
  Delete: "io.nats.jetstream.api.v1.consumer_delete_response",
} as const;

/** tokens are the subject after "$JS.API.". */
export function consumerCreate(js: JetStream, tokens: string[], m: InternalMsg): Reply {
  let req;
  try {
    req = decodeCreateRequest(m.data);
  } catch (e) {
    return err(T.Create, (e as JsApiError).api);
  }
  let streamName: string;
  let consumerName = "";
  let filtered = "";
  let kind: "legacyEphemeral" | "legacyDurable" | "new";
  if (tokens[1] === "DURABLE") {
    kind = "legacyDurable";
    if (tokens.length !== 5) return err(T.Create, apiError(JsErrors.ConsumerDurableNameNotInSubject));
    streamName = tokens[3]!;
    consumerName = tokens[4]!;
  } else if (tokens.length === 3) {
    kind = "legacyEphemeral";
    streamName = tokens[2]!;
  } else {
    kind = "new";
    streamName = tokens[2]!;
    consumerName = tokens[3]!;
    if (tokens.length > 4) filtered = tokens.slice(4).join(".");
  }
  const cfg = req.config;
  if (streamName !== req.stream_name) return err(T.Create, apiError(JsErrors.StreamMismatch));
  if (consumerName !== "" && /[\\/]/.test(consumerName)) return err(T.Create, apiError(JsErrors.ConsumerNameContainsPathSeparators));
  if (kind === "legacyDurable") {
    if (cfg.durable_name === "") return err(T.Create, apiError(JsErrors.ConsumerDurableNameNotSet));
    if (consumerName !== cfg.durable_name) return err(T.Create, apiError(JsErrors.ConsumerDurableNameNotMatchSubject));
  }
  if (kind === "new") {
    if (cfg.durable_name !== "" && consumerName !== cfg.durable_name) return err(T.Create, apiError(JsErrors.ConsumerDurableNameNotMatchSubject));
    cfg.name = consumerName;
  }
  if (kind === "legacyEphemeral" && cfg.durable_name !== "") return err(T.Create, apiError(JsErrors.ConsumerEphemeralWithDurableName));
  if (filtered !== "" && cfg.filter_subjects.length > 0) return err(T.Create, apiError(JsErrors.ConsumerMultipleFiltersNotAllowed));
  if (filtered !== "" && cfg.filter_subject !== filtered) return err(T.Create, apiError(JsErrors.ConsumerCreateFilterSubjectMismatch));
  if (cfg.num_replicas > 1) return err(T.Create, apiError(JsErrors.StreamReplicasNotSupported));
  const stream = js.streams.get(req.stream_name);
  if (stream === undefined) return err(T.Create, apiError(JsErrors.StreamNotFound));
  try {
    const c = js.addConsumer(stream, cfg, req.action);
    return ok({ type: T.Create, ...c.infoJSON(js.serverName) });
  } catch (e) {
    if (e instanceof JsApiError) return err(T.Create, e.api);
    return err(T.Create, apiError(JsErrors.ConsumerCreate, { err: e instanceof Error ? e.message : String(e) }));
  }
}

export function consumerInfo(js: JetStream, tokens: string[]): Reply {
  const stream = js.streams.get(tokens[2]!);
  if (stream === undefined) return err(T.Info, apiError(JsErrors.StreamNotFound));
  const c = stream.consumers.get(tokens[3]!);
  if (c === undefined) return err(T.Info, apiError(JsErrors.ConsumerNotFound));
  return ok({ type: T.Info, ...c.infoJSON(js.serverName) });
}

export function consumerDelete(js: JetStream, tokens: string[], m: InternalMsg): Reply {
  if (!isEmptyRequest(m.data)) return err(T.Delete, apiError(JsErrors.NotEmptyRequest));
  const stream = js.streams.get(tokens[2]!);
  if (stream === undefined) return err(T.Delete, apiError(JsErrors.StreamNotFound));
  if (!js.deleteConsumer(stream, tokens[3]!)) return err(T.Delete, apiError(JsErrors.ConsumerNotFound));
  return ok({ type: T.Delete, success: true });
}

function pagedOffset(m: InternalMsg): number | null {
  if (isEmptyRequest(m.data)) return 0;
  const o = decodeObject(m.data);
  return o === null ? null : intField(o, "offset");
}

export function consumerNames(js: JetStream, tokens: string[], m: InternalMsg): Reply {
  const empty = { total: 0, offset: 0, limit: 0, consumers: [] };
  let offset = pagedOffset(m);
  if (offset === null) return err(T.Names, apiError(JsErrors.InvalidJSON), empty);
  const stream = js.streams.get(tokens[2]!);
  if (stream === undefined) return err(T.Names, apiError(JsErrors.StreamNotFound), empty);
  const names = [...stream.consumers.keys()].sort();
  offset = Math.max(0, Math.min(offset, names.length));
  return ok({ type: T.Names, total: names.length, offset, limit: NAMES_LIMIT, consumers: names.slice(offset, offset + NAMES_LIMIT) });
}

export function consumerList(js: JetStream, tokens: string[], m: InternalMsg): Reply {
  const empty = { total: 0, offset: 0, limit: 0, consumers: [] };
  let offset = pagedOffset(m);
  if (offset === null) return err(T.List, apiError(JsErrors.InvalidJSON), empty);
  const stream = js.streams.get(tokens[2]!);
  if (stream === undefined) return err(T.List, apiError(JsErrors.StreamNotFound), empty);
  const all = [...stream.consumers.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  offset = Math.max(0, Math.min(offset, all.length));
  const page = all.slice(offset, offset + LIST_LIMIT).map((c) => c.infoJSON(js.serverName));
  return ok({ type: T.List, total: all.length, offset, limit: LIST_LIMIT, consumers: page });
}
