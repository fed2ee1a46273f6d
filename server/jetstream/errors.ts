// Every JetStream API error gnat sends, with nats-server's code (HTTP-like status), err_code and
// description, taken from nats-server's server/errors.json (v2.10). Clients match err_code and
// sometimes the text itself ("stream not found"), so neither may drift: test/jetstream/errors.test.ts
// checks this table against a copy of those entries. Descriptions with {placeholders} are
// templates, filled by apiError().

export interface ErrorDef {
  /** nats-server's constant name in errors.json. */
  readonly constant: string;
  readonly code: number;
  readonly err_code: number;
  readonly description: string;
}

export const JsErrors = {
  BadRequest: { constant: "JSBadRequestErr", code: 400, err_code: 10003, description: "bad request" },
  InvalidJSON: { constant: "JSInvalidJSONErr", code: 400, err_code: 10025, description: "invalid JSON" },
  NotEmptyRequest: { constant: "JSNotEmptyRequestErr", code: 400, err_code: 10038, description: "expected an empty request payload" },
  NotEnabledForAccount: { constant: "JSNotEnabledForAccountErr", code: 503, err_code: 10039, description: "JetStream not enabled for account" },
  StreamNotFound: { constant: "JSStreamNotFoundErr", code: 404, err_code: 10059, description: "stream not found" },
  StreamNameExist: { constant: "JSStreamNameExistErr", code: 400, err_code: 10058, description: "stream name already in use with a different configuration" },
  StreamSubjectOverlap: { constant: "JSStreamSubjectOverlapErr", code: 400, err_code: 10065, description: "subjects overlap with an existing stream" },
  StreamMismatch: { constant: "JSStreamMismatchErr", code: 400, err_code: 10056, description: "stream name in subject does not match request" },
  StreamNameContainsPathSeparators: { constant: "JSStreamNameContainsPathSeparatorsErr", code: 400, err_code: 10128, description: "Stream name can not contain path separators" },
  StreamInvalidConfig: { constant: "JSStreamInvalidConfigF", code: 500, err_code: 10052, description: "{err}" },
  StreamReplicasNotSupported: { constant: "JSStreamReplicasNotSupportedErr", code: 500, err_code: 10074, description: "replicas > 1 not supported in non-clustered mode" },
  ReplicasCountCannotBeNegative: { constant: "JSReplicasCountCannotBeNegative", code: 400, err_code: 10133, description: "replicas count cannot be negative" },
  StreamCreate: { constant: "JSStreamCreateErrF", code: 500, err_code: 10049, description: "{err}" },
  StreamUpdate: { constant: "JSStreamUpdateErrF", code: 500, err_code: 10069, description: "{err}" },
  StreamDelete: { constant: "JSStreamDeleteErrF", code: 500, err_code: 10050, description: "{err}" },
  StreamGeneralError: { constant: "JSStreamGeneralErrorF", code: 500, err_code: 10051, description: "{err}" },
  StreamMsgDeleteFailed: { constant: "JSStreamMsgDeleteFailedF", code: 500, err_code: 10057, description: "{err}" },
  StreamPurgeFailed: { constant: "JSStreamPurgeFailedF", code: 500, err_code: 10110, description: "{err}" },
  StreamRollupFailed: { constant: "JSStreamRollupFailedF", code: 500, err_code: 10111, description: "{err}" },
  StreamSealed: { constant: "JSStreamSealedErr", code: 400, err_code: 10109, description: "invalid operation on sealed stream" },
  StreamStoreFailed: { constant: "JSStreamStoreFailedF", code: 503, err_code: 10077, description: "{err}" },
  StreamMessageExceedsMaximum: { constant: "JSStreamMessageExceedsMaximumErr", code: 400, err_code: 10054, description: "message size exceeds maximum allowed" },
  StreamHeaderExceedsMaximum: { constant: "JSStreamHeaderExceedsMaximumErr", code: 400, err_code: 10097, description: "header size exceeds maximum allowed of 64k" },
  StreamNotMatch: { constant: "JSStreamNotMatchErr", code: 400, err_code: 10060, description: "expected stream does not match" },
  StreamWrongLastSequence: { constant: "JSStreamWrongLastSequenceErrF", code: 400, err_code: 10071, description: "wrong last sequence: {seq}" },
  StreamWrongLastMsgID: { constant: "JSStreamWrongLastMsgIDErrF", code: 400, err_code: 10070, description: "wrong last msg ID: {id}" },
  SequenceNotFound: { constant: "JSSequenceNotFoundErrF", code: 400, err_code: 10043, description: "sequence {seq} not found" },
  NoMessageFound: { constant: "JSNoMessageFoundErr", code: 404, err_code: 10037, description: "no message found" },
  MaximumStreamsLimit: { constant: "JSMaximumStreamsLimitErr", code: 400, err_code: 10027, description: "maximum number of streams reached" },
  StreamMirrorNotUpdatable: { constant: "JSStreamMirrorNotUpdatableErr", code: 400, err_code: 10055, description: "stream mirror configuration can not be updated" },
  StreamLimits: { constant: "JSStreamLimitsErrF", code: 500, err_code: 10053, description: "{err}" },
  InsufficientResources: { constant: "JSInsufficientResourcesErr", code: 503, err_code: 10023, description: "insufficient resources" },
  StreamMaxBytesRequired: { constant: "JSStreamMaxBytesRequired", code: 400, err_code: 10113, description: "account requires a stream config to have max bytes set" },
  StreamMaxStreamBytesExceeded: { constant: "JSStreamMaxStreamBytesExceeded", code: 400, err_code: 10122, description: "stream max bytes exceeds account limit max stream bytes" },
  MemoryResourcesExceeded: { constant: "JSMemoryResourcesExceededErr", code: 500, err_code: 10028, description: "insufficient memory resources available" },
  StorageResourcesExceeded: { constant: "JSStorageResourcesExceededErr", code: 500, err_code: 10047, description: "insufficient storage resources available" },
  StreamReplicasNotUpdatable: { constant: "JSStreamReplicasNotUpdatableErr", code: 400, err_code: 10061, description: "Replicas configuration can not be updated" },
  NotEnabled: { constant: "JSNotEnabledErr", code: 503, err_code: 10076, description: "JetStream not enabled" },
} as const satisfies Record<string, ErrorDef>;

export type JsErrorName = keyof typeof JsErrors;

/** The error object of an API response, as nats-server marshals ApiError. */
export interface ApiError {
  code: number;
  err_code: number;
  description: string;
}

/** Build an ApiError, filling {placeholders} from params (nats-server's NewJS…Error(args)). */
export function apiError(def: ErrorDef, params: Record<string, string | number> = {}): ApiError {
  const description = def.description.replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m));
  return { code: def.code, err_code: def.err_code, description };
}

/** Thrown inside the JetStream layer; the API turns it into the response's error. */
export class JsApiError extends Error {
  constructor(readonly api: ApiError) {
    super(api.description);
    this.name = "JsApiError";
  }

  static of(def: ErrorDef, params?: Record<string, string | number>): JsApiError {
    return new JsApiError(apiError(def, params));
  }
}

/** A stream-config problem: nats-server's NewJSStreamInvalidConfigError(fmt.Errorf(text)). */
export function invalidConfig(text: string): JsApiError {
  return JsApiError.of(JsErrors.StreamInvalidConfig, { err: text });
}
