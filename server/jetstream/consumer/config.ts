// Consumer configuration: decoded the way Go's encoding/json decodes nats-server's ConsumerConfig
// (unknown fields ignored, a wrong type or enum value is "invalid JSON"), then nats-server's
// setConsumerConfigDefaults and checkConsumerCfg, and the JSON written back (field order and
// omitempty as nats-server 2.10 marshals it).

import { randomInt } from "node:crypto";
import { isValidLiteralSubject } from "../../../protocol/subject.js";
import { goDurationNs } from "../../duration.js";
import { JS_MAX_DESCRIPTION_LEN, JS_MAX_METADATA_LEN, type StreamConfig } from "../config.js";
import { bool, decodeJson, decodeValue, DecodeError, int, obj, oneOf, str, strList, type JsonObject } from "../decode.js";
import { JsApiError, JsErrors } from "../errors.js";
import { isValidSubject, subjectMatches, subjectsCollide } from "../subjects.js";

export type DeliverPolicy = "all" | "last" | "new" | "by_start_sequence" | "by_start_time" | "last_per_subject";
export type AckPolicy = "none" | "all" | "explicit";
export type ReplayPolicy = "instant" | "original";
export type ConsumerAction = "" | "create" | "update";

export interface ConsumerConfig {
  durable_name: string;
  name: string;
  description: string;
  deliver_policy: DeliverPolicy;
  opt_start_seq: number;
  /** RFC3339 as sent; null when unset. */
  opt_start_time: string | null;
  ack_policy: AckPolicy;
  /** Nanoseconds, as all durations here. */
  ack_wait: number;
  max_deliver: number;
  backoff: number[];
  filter_subject: string;
  filter_subjects: string[];
  replay_policy: ReplayPolicy;
  rate_limit_bps: number;
  sample_freq: string;
  max_waiting: number;
  max_ack_pending: number;
  idle_heartbeat: number;
  flow_control: boolean;
  headers_only: boolean;
  max_batch: number;
  max_expires: number;
  max_bytes: number;
  deliver_subject: string;
  deliver_group: string;
  inactive_threshold: number;
  num_replicas: number;
  mem_storage: boolean;
  direct: boolean;
  metadata: Record<string, string> | null;
}

export function zeroConsumerConfig(): ConsumerConfig {
  return {
    durable_name: "", name: "", description: "", deliver_policy: "all", opt_start_seq: 0, opt_start_time: null,
    ack_policy: "none", ack_wait: 0, max_deliver: 0, backoff: [], filter_subject: "", filter_subjects: [],
    replay_policy: "instant", rate_limit_bps: 0, sample_freq: "", max_waiting: 0, max_ack_pending: 0,
    idle_heartbeat: 0, flow_control: false, headers_only: false, max_batch: 0, max_expires: 0, max_bytes: 0,
    deliver_subject: "", deliver_group: "", inactive_threshold: 0, num_replicas: 0, mem_storage: false,
    direct: false, metadata: null,
  };
}

/** nats-server defaults (consumer.go / jetstream_api.go). */
export const ACK_WAIT_DEFAULT_NS = 30_000_000_000;
export const MAX_ACK_PENDING_DEFAULT = 1000;
export const WAIT_QUEUE_DEFAULT_MAX = 512;
/** Ephemerals go after this long without interest when no inactive_threshold is set. */
export const DELETE_WAIT_DEFAULT_NS = 5_000_000_000;

export interface CreateConsumerRequest {
  stream_name: string;
  config: ConsumerConfig;
  action: ConsumerAction;
}

/** JSApiConsumerCreateRequest as Go decodes it; throws JsApiError(InvalidJSON). */
export function decodeCreateRequest(raw: Buffer): CreateConsumerRequest {
  const out: CreateConsumerRequest = { stream_name: "", config: zeroConsumerConfig(), action: "" };
  return decodeJson(raw, out, (out, v) => {
    for (const [k, x] of Object.entries(v)) {
      switch (k.toLowerCase()) {
        case "stream_name": out.stream_name = str(x); break;
        case "config": if (x !== null) applyFields(out.config, obj(x)); break;
        case "action":
          if (x === "create" || x === "update" || x === "") out.action = x;
          else throw new DecodeError();
          break;
      }
    }
  });
}

function applyFields(c: ConsumerConfig, v: JsonObject): void {
  for (const [k, x] of Object.entries(v)) {
    switch (k.toLowerCase()) {
      case "durable_name": c.durable_name = str(x); break;
      case "name": c.name = str(x); break;
      case "description": c.description = str(x); break;
      case "deliver_policy":
        c.deliver_policy = x === "undefined" ? "all" : oneOf(x, ["all", "last", "new", "by_start_sequence", "by_start_time", "last_per_subject"] as const);
        break;
      case "opt_start_seq": c.opt_start_seq = int(x, 0); break;
      case "opt_start_time":
        if (x === null) c.opt_start_time = null;
        else if (typeof x === "string" && !Number.isNaN(Date.parse(x))) c.opt_start_time = x;
        else throw new DecodeError();
        break;
      case "ack_policy": c.ack_policy = oneOf(x, ["none", "all", "explicit"] as const); break;
      case "ack_wait": c.ack_wait = int(x); break;
      case "max_deliver": c.max_deliver = int(x); break;
      case "backoff": c.backoff = x === null ? [] : (Array.isArray(x) ? x.map((d) => int(d)) : (() => { throw new DecodeError(); })()); break;
      case "filter_subject": c.filter_subject = str(x); break;
      case "filter_subjects": c.filter_subjects = strList(x); break;
      case "replay_policy": c.replay_policy = oneOf(x, ["instant", "original"] as const); break;
      case "rate_limit_bps": c.rate_limit_bps = int(x, 0); break;
      case "sample_freq": c.sample_freq = str(x); break;
      case "max_waiting": c.max_waiting = int(x); break;
      case "max_ack_pending": c.max_ack_pending = int(x); break;
      case "idle_heartbeat": c.idle_heartbeat = int(x); break;
      case "flow_control": c.flow_control = bool(x); break;
      case "headers_only": c.headers_only = bool(x); break;
      case "max_batch": c.max_batch = int(x); break;
      case "max_expires": c.max_expires = int(x); break;
      case "max_bytes": c.max_bytes = int(x); break;
      case "deliver_subject": c.deliver_subject = str(x); break;
      case "deliver_group": c.deliver_group = str(x); break;
      case "inactive_threshold": c.inactive_threshold = int(x); break;
      case "num_replicas": c.num_replicas = int(x); break;
      case "mem_storage": c.mem_storage = bool(x); break;
      case "direct": c.direct = bool(x); break;
      case "metadata": {
        if (x === null) { c.metadata = null; break; }
        const o = obj(x);
        const m: Record<string, string> = {};
        for (const [mk, mv] of Object.entries(o)) m[mk] = str(mv);
        c.metadata = m;
        break;
      }
    }
  }
}

export function isDurable(c: ConsumerConfig): boolean {
  return c.durable_name !== "";
}

/** The filters a consumer selects by; [] means the whole stream. */
export function filtersOf(c: ConsumerConfig): string[] {
  if (c.filter_subjects.length > 0) return c.filter_subjects;
  return c.filter_subject !== "" ? [c.filter_subject] : [];
}

/**
 * nats-server setConsumerConfigDefaults for a standalone server; `accountMaxAckPending` is the
 * account's JetStream `max_ack_pending` limit (operator mode; 0 or less: none).
 */
export function setConsumerDefaults(input: ConsumerConfig, stream: StreamConfig, accountMaxAckPending = 0): ConsumerConfig {
  const c: ConsumerConfig = { ...input, backoff: [...input.backoff], filter_subjects: [...input.filter_subjects] };
  if (c.deliver_subject === "" && c.max_waiting === 0) c.max_waiting = WAIT_QUEUE_DEFAULT_MAX;
  if (c.ack_wait === 0 && (c.ack_policy === "explicit" || c.ack_policy === "all")) c.ack_wait = ACK_WAIT_DEFAULT_NS;
  if (c.max_deliver === 0) c.max_deliver = -1;
  if (c.backoff.length > 0) c.ack_wait = c.backoff[0]!;
  if (c.max_ack_pending === 0) c.max_ack_pending = stream.consumer_limits.max_ack_pending ?? 0;
  if (c.inactive_threshold === 0) c.inactive_threshold = stream.consumer_limits.inactive_threshold ?? 0;
  if ((c.ack_policy === "explicit" || c.ack_policy === "all") && c.max_ack_pending === 0) {
    c.max_ack_pending = accountMaxAckPending > 0 && accountMaxAckPending < MAX_ACK_PENDING_DEFAULT ? accountMaxAckPending : MAX_ACK_PENDING_DEFAULT;
  }
  // Ephemerals show the threshold they are deleted after (nats-server's updateInactiveThreshold).
  if (c.durable_name === "" && c.inactive_threshold === 0) c.inactive_threshold = DELETE_WAIT_DEFAULT_NS;
  return c;
}

function invalidPolicy(text: string): JsApiError {
  return JsApiError.of(JsErrors.ConsumerInvalidPolicy, { err: text });
}

/** nats-server checkConsumerCfg (standalone, no server limits; the account's max_ack_pending, when it has one). */
export function checkConsumerConfig(c: ConsumerConfig, stream: StreamConfig, accountMaxAckPending = 0): void {
  const replicas = Math.max(stream.num_replicas, 1);
  if (c.num_replicas > 0 && c.num_replicas > replicas) throw JsApiError.of(JsErrors.ConsumerReplicasExceedsStream);
  if (c.num_replicas < 0) throw JsApiError.of(JsErrors.ReplicasCountCannotBeNegative);
  if ((stream.retention === "interest" || stream.retention === "workqueue") && c.num_replicas !== 0 && c.num_replicas !== replicas) {
    throw JsApiError.of(JsErrors.ConsumerReplicasShouldMatchStream);
  }
  if (c.backoff.length > 0 && c.max_deliver !== -1 && c.backoff.length > c.max_deliver) throw JsApiError.of(JsErrors.ConsumerMaxDeliverBackoff);
  if (Buffer.byteLength(c.description) > JS_MAX_DESCRIPTION_LEN) throw JsApiError.of(JsErrors.ConsumerDescriptionTooLong, { max: JS_MAX_DESCRIPTION_LEN });

  if (c.deliver_subject !== "") {
    if (/[*>]/.test(c.deliver_subject) && isValidSubject(c.deliver_subject) && !isValidLiteralSubject(c.deliver_subject)) {
      throw JsApiError.of(JsErrors.ConsumerDeliverToWildcards);
    }
    if (!isValidSubject(c.deliver_subject)) throw JsApiError.of(JsErrors.ConsumerInvalidDeliverSubject);
    if (stream.subjects.some((s) => subjectMatches(s, c.deliver_subject))) throw JsApiError.of(JsErrors.ConsumerDeliverCycle);
    if (c.max_waiting !== 0) throw JsApiError.of(JsErrors.ConsumerPushMaxWaiting);
    if (c.max_ack_pending > 0 && c.ack_policy === "none") throw JsApiError.of(JsErrors.ConsumerMaxPendingAckPolicyRequired);
    if (c.idle_heartbeat > 0 && c.idle_heartbeat < 100_000_000) throw JsApiError.of(JsErrors.ConsumerSmallHeartbeat);
  } else {
    if (c.ack_policy === "none" && stream.retention === "workqueue") throw JsApiError.of(JsErrors.ConsumerPullRequiresAck);
    if (c.rate_limit_bps > 0) throw JsApiError.of(JsErrors.ConsumerPullWithRateLimit);
    if (c.max_waiting < 0) throw JsApiError.of(JsErrors.ConsumerMaxWaitingNegative);
    if (c.idle_heartbeat > 0) throw JsApiError.of(JsErrors.ConsumerHBRequiresPush);
    if (c.flow_control) throw JsApiError.of(JsErrors.ConsumerFCRequiresPush);
    if (c.max_batch < 0) throw JsApiError.of(JsErrors.ConsumerMaxRequestBatchNegative);
    if (c.max_expires !== 0 && c.max_expires < 1_000_000) throw JsApiError.of(JsErrors.ConsumerMaxRequestExpiresToSmall);
  }
  if (accountMaxAckPending > 0 && c.max_ack_pending > accountMaxAckPending) {
    throw JsApiError.of(JsErrors.ConsumerMaxPendingAckExcess, { limit: accountMaxAckPending });
  }
  const limits = stream.consumer_limits;
  if ((limits.max_ack_pending ?? 0) > 0 && c.max_ack_pending > limits.max_ack_pending!) {
    throw JsApiError.of(JsErrors.ConsumerMaxPendingAckExcess, { limit: limits.max_ack_pending! });
  }
  if ((limits.inactive_threshold ?? 0) > 0 && c.inactive_threshold > limits.inactive_threshold!) {
    throw JsApiError.of(JsErrors.ConsumerInactiveThresholdExcess, { limit: goDurationNs(limits.inactive_threshold!) });
  }
  if (c.direct) {
    if (c.deliver_subject === "") throw JsApiError.of(JsErrors.ConsumerDirectRequiresPush);
    if (isDurable(c)) throw JsApiError.of(JsErrors.ConsumerDirectRequiresEphemeral);
  }
  if (c.filter_subject !== "" && c.filter_subjects.length > 0) throw JsApiError.of(JsErrors.ConsumerDuplicateFilterSubjects);
  if (c.filter_subject !== "" && !isValidSubject(c.filter_subject)) throw JsApiError.of(JsErrors.StreamInvalidConfig, { err: "invalid subject" });
  for (const f of c.filter_subjects) if (f === "") throw JsApiError.of(JsErrors.ConsumerEmptyFilter);
  const filters = filtersOf(c);
  for (let i = 0; i < filters.length; i++) {
    if (!isValidSubject(filters[i]!)) throw JsApiError.of(JsErrors.StreamInvalidConfig, { err: "invalid subject" });
    for (let j = 0; j < filters.length; j++) {
      if (i !== j && subjectsCollide(filters[i]!, filters[j]!)) throw JsApiError.of(JsErrors.ConsumerOverlappingSubjectFilters);
    }
  }

  const badStart = (dp: string, start: string): JsApiError => invalidPolicy(`consumer delivery policy is deliver ${dp}, but optional start ${start} is also set`);
  const notSet = (dp: string, what: string): JsApiError => invalidPolicy(`consumer delivery policy is deliver ${dp}, but optional ${what} is not set`);
  const seq = c.opt_start_seq > 0;
  const time = c.opt_start_time !== null;
  switch (c.deliver_policy) {
    case "all": if (seq) throw badStart("all", "sequence"); if (time) throw badStart("all", "time"); break;
    case "last": if (seq) throw badStart("last", "sequence"); if (time) throw badStart("last", "time"); break;
    case "last_per_subject":
      if (seq) throw badStart("last per subject", "sequence");
      if (time) throw badStart("last per subject", "time");
      if (filters.length === 0) throw notSet("last per subject", "filter subject");
      break;
    case "new": if (seq) throw badStart("new", "sequence"); if (time) throw badStart("new", "time"); break;
    case "by_start_sequence":
      if (!seq) throw notSet("by start sequence", "start sequence");
      if (time) throw badStart("by start sequence", "time");
      break;
    case "by_start_time":
      if (!time) throw notSet("by start time", "start time");
      if (c.opt_start_seq !== 0) throw badStart("by start time", "start sequence");
      break;
  }
  if (c.sample_freq !== "") {
    const s = c.sample_freq.replace(/%$/, "");
    if (!/^[+-]?\d+$/.test(s)) throw JsApiError.of(JsErrors.ConsumerInvalidSampling, { err: `strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax` });
    if (Number(s) < 0) throw JsApiError.of(JsErrors.ConsumerInvalidSampling, { err: "<nil>" });
  }
  if (c.flow_control && c.idle_heartbeat === 0) throw JsApiError.of(JsErrors.ConsumerWithFlowControlNeedsHeartbeats);
  if (c.durable_name !== "" && c.name !== "" && c.name !== c.durable_name) throw JsApiError.of(JsErrors.ConsumerCreateDurableAndNameMismatch);
  let mlen = 0;
  for (const [k, v] of Object.entries(c.metadata ?? {})) mlen += k.length + v.length;
  if (mlen > JS_MAX_METADATA_LEN) throw JsApiError.of(JsErrors.ConsumerMetadataLength, { limit: `${JS_MAX_METADATA_LEN / 1024}KB` });
}

/** Whether two configs are equal (nats-server's reflect.DeepEqual on the defaulted config). */
export function sameConsumerConfig(a: ConsumerConfig, b: ConsumerConfig): boolean {
  return JSON.stringify(consumerConfigJSON(a)) === JSON.stringify(consumerConfigJSON(b));
}

/** A new ephemeral's name: 8 characters of [0-9A-Za-z] as nats-server's getHash(nuid). */
export function ephemeralName(): string {
  const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  let s = "";
  for (let i = 0; i < 8; i++) s += digits[randomInt(digits.length)];
  return s;
}

/** ConsumerConfig as nats-server 2.10 marshals it: field order, omitempty. */
export function consumerConfigJSON(c: ConsumerConfig): JsonObject {
  const o: JsonObject = {};
  if (c.durable_name !== "") o.durable_name = c.durable_name;
  if (c.name !== "") o.name = c.name;
  if (c.description !== "") o.description = c.description;
  o.deliver_policy = c.deliver_policy;
  if (c.opt_start_seq !== 0) o.opt_start_seq = c.opt_start_seq;
  if (c.opt_start_time !== null) o.opt_start_time = c.opt_start_time;
  o.ack_policy = c.ack_policy;
  if (c.ack_wait !== 0) o.ack_wait = c.ack_wait;
  if (c.max_deliver !== 0) o.max_deliver = c.max_deliver;
  if (c.backoff.length > 0) o.backoff = c.backoff;
  if (c.filter_subject !== "") o.filter_subject = c.filter_subject;
  if (c.filter_subjects.length > 0) o.filter_subjects = c.filter_subjects;
  o.replay_policy = c.replay_policy;
  if (c.rate_limit_bps !== 0) o.rate_limit_bps = c.rate_limit_bps;
  if (c.sample_freq !== "") o.sample_freq = c.sample_freq;
  if (c.max_waiting !== 0) o.max_waiting = c.max_waiting;
  if (c.max_ack_pending !== 0) o.max_ack_pending = c.max_ack_pending;
  if (c.idle_heartbeat !== 0) o.idle_heartbeat = c.idle_heartbeat;
  if (c.flow_control) o.flow_control = true;
  if (c.headers_only) o.headers_only = true;
  if (c.max_batch !== 0) o.max_batch = c.max_batch;
  if (c.max_expires !== 0) o.max_expires = c.max_expires;
  if (c.max_bytes !== 0) o.max_bytes = c.max_bytes;
  if (c.deliver_subject !== "") o.deliver_subject = c.deliver_subject;
  if (c.deliver_group !== "") o.deliver_group = c.deliver_group;
  if (c.inactive_threshold !== 0) o.inactive_threshold = c.inactive_threshold;
  o.num_replicas = c.num_replicas;
  if (c.mem_storage) o.mem_storage = true;
  if (c.direct) o.direct = true;
  if (c.metadata !== null && Object.keys(c.metadata).length > 0) o.metadata = c.metadata;
  return o;
}

/** Decode a config persisted by consumerConfigJSON (recovery). */
export function decodeConsumerConfig(v: unknown): ConsumerConfig {
  return decodeValue(v, zeroConsumerConfig(), applyFields);
}
