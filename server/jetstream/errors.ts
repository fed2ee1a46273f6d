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
  AccountResourcesExceeded: { constant: "JSAccountResourcesExceededErr", code: 400, err_code: 10002, description: "resource limits exceeded for account" },
  InsufficientResources: { constant: "JSInsufficientResourcesErr", code: 503, err_code: 10023, description: "insufficient resources" },
  StreamMaxBytesRequired: { constant: "JSStreamMaxBytesRequired", code: 400, err_code: 10113, description: "account requires a stream config to have max bytes set" },
  StreamMaxStreamBytesExceeded: { constant: "JSStreamMaxStreamBytesExceeded", code: 400, err_code: 10122, description: "stream max bytes exceeds account limit max stream bytes" },
  MemoryResourcesExceeded: { constant: "JSMemoryResourcesExceededErr", code: 500, err_code: 10028, description: "insufficient memory resources available" },
  StorageResourcesExceeded: { constant: "JSStorageResourcesExceededErr", code: 500, err_code: 10047, description: "insufficient storage resources available" },
  StreamReplicasNotUpdatable: { constant: "JSStreamReplicasNotUpdatableErr", code: 400, err_code: 10061, description: "Replicas configuration can not be updated" },
  NotEnabled: { constant: "JSNotEnabledErr", code: 503, err_code: 10076, description: "JetStream not enabled" },
  ConsumerNotFound: { constant: "JSConsumerNotFoundErr", code: 404, err_code: 10014, description: "consumer not found" },
  ConsumerCreate: { constant: "JSConsumerCreateErrF", code: 500, err_code: 10012, description: "{err}" },
  ConsumerNameExist: { constant: "JSConsumerNameExistErr", code: 400, err_code: 10013, description: "consumer name already in use" },
  ConsumerEphemeralWithDurableName: { constant: "JSConsumerEphemeralWithDurableNameErr", code: 400, err_code: 10020, description: "consumer expected to be ephemeral but a durable name was set in request" },
  ConsumerDurableNameNotInSubject: { constant: "JSConsumerDurableNameNotInSubjectErr", code: 400, err_code: 10016, description: "consumer expected to be durable but no durable name set in subject" },
  ConsumerDurableNameNotSet: { constant: "JSConsumerDurableNameNotSetErr", code: 400, err_code: 10018, description: "consumer expected to be durable but a durable name was not set" },
  ConsumerDurableNameNotMatchSubject: { constant: "JSConsumerDurableNameNotMatchSubjectErr", code: 400, err_code: 10017, description: "consumer name in subject does not match durable name in request" },
  ConsumerConfigRequired: { constant: "JSConsumerConfigRequiredErr", code: 400, err_code: 10078, description: "consumer config required" },
  ConsumerDeliverToWildcards: { constant: "JSConsumerDeliverToWildcardsErr", code: 400, err_code: 10079, description: "consumer deliver subject has wildcards" },
  ConsumerPushMaxWaiting: { constant: "JSConsumerPushMaxWaitingErr", code: 400, err_code: 10080, description: "consumer in push mode can not set max waiting" },
  ConsumerDeliverCycle: { constant: "JSConsumerDeliverCycleErr", code: 400, err_code: 10081, description: "consumer deliver subject forms a cycle" },
  ConsumerMaxPendingAckPolicyRequired: { constant: "JSConsumerMaxPendingAckPolicyRequiredErr", code: 400, err_code: 10082, description: "consumer requires ack policy for max ack pending" },
  ConsumerSmallHeartbeat: { constant: "JSConsumerSmallHeartbeatErr", code: 400, err_code: 10083, description: "consumer idle heartbeat needs to be >= 100ms" },
  ConsumerPullRequiresAck: { constant: "JSConsumerPullRequiresAckErr", code: 400, err_code: 10084, description: "consumer in pull mode requires ack policy" },
  ConsumerPullWithRateLimit: { constant: "JSConsumerPullWithRateLimitErr", code: 400, err_code: 10086, description: "consumer in pull mode can not have rate limit set" },
  ConsumerMaxWaitingNegative: { constant: "JSConsumerMaxWaitingNegativeErr", code: 400, err_code: 10087, description: "consumer max waiting needs to be positive" },
  ConsumerHBRequiresPush: { constant: "JSConsumerHBRequiresPushErr", code: 400, err_code: 10088, description: "consumer idle heartbeat requires a push based consumer" },
  ConsumerFCRequiresPush: { constant: "JSConsumerFCRequiresPushErr", code: 400, err_code: 10089, description: "consumer flow control requires a push based consumer" },
  ConsumerDirectRequiresPush: { constant: "JSConsumerDirectRequiresPushErr", code: 400, err_code: 10090, description: "consumer direct requires a push based consumer" },
  ConsumerDirectRequiresEphemeral: { constant: "JSConsumerDirectRequiresEphemeralErr", code: 400, err_code: 10091, description: "consumer direct requires an ephemeral consumer" },
  ConsumerInvalidPolicy: { constant: "JSConsumerInvalidPolicyErrF", code: 400, err_code: 10094, description: "{err}" },
  ConsumerInvalidSampling: { constant: "JSConsumerInvalidSamplingErrF", code: 400, err_code: 10095, description: "failed to parse consumer sampling configuration: {err}" },
  ConsumerWQRequiresExplicitAck: { constant: "JSConsumerWQRequiresExplicitAckErr", code: 400, err_code: 10098, description: "workqueue stream requires explicit ack" },
  ConsumerWQMultipleUnfiltered: { constant: "JSConsumerWQMultipleUnfilteredErr", code: 400, err_code: 10099, description: "multiple non-filtered consumers not allowed on workqueue stream" },
  ConsumerWQConsumerNotUnique: { constant: "JSConsumerWQConsumerNotUniqueErr", code: 400, err_code: 10100, description: "filtered consumer not unique on workqueue stream" },
  ConsumerWQConsumerNotDeliverAll: { constant: "JSConsumerWQConsumerNotDeliverAllErr", code: 400, err_code: 10101, description: "consumer must be deliver all on workqueue stream" },
  ConsumerNameTooLong: { constant: "JSConsumerNameTooLongErrF", code: 400, err_code: 10102, description: "consumer name is too long, maximum allowed is {max}" },
  ConsumerBadDurableName: { constant: "JSConsumerBadDurableNameErr", code: 400, err_code: 10103, description: "durable name can not contain '.', '*', '>'" },
  ConsumerStoreFailed: { constant: "JSConsumerStoreFailedErrF", code: 500, err_code: 10104, description: "error creating store for consumer: {err}" },
  ConsumerDescriptionTooLong: { constant: "JSConsumerDescriptionTooLongErrF", code: 400, err_code: 10107, description: "consumer description is too long, maximum allowed is {max}" },
  ConsumerWithFlowControlNeedsHeartbeats: { constant: "JSConsumerWithFlowControlNeedsHeartbeats", code: 400, err_code: 10108, description: "consumer with flow control also needs heartbeats" },
  ConsumerInvalidDeliverSubject: { constant: "JSConsumerInvalidDeliverSubject", code: 400, err_code: 10112, description: "invalid push consumer deliver subject" },
  ConsumerMaxRequestBatchNegative: { constant: "JSConsumerMaxRequestBatchNegativeErr", code: 400, err_code: 10114, description: "consumer max request batch needs to be > 0" },
  ConsumerMaxRequestExpiresToSmall: { constant: "JSConsumerMaxRequestExpiresToSmall", code: 400, err_code: 10115, description: "consumer max request expires needs to be >= 1ms" },
  ConsumerMaxDeliverBackoff: { constant: "JSConsumerMaxDeliverBackoffErr", code: 400, err_code: 10116, description: "max deliver is required to be > length of backoff values" },
  ConsumerReplicasExceedsStream: { constant: "JSConsumerReplicasExceedsStream", code: 400, err_code: 10126, description: "consumer config replica count exceeds parent stream" },
  ConsumerNameContainsPathSeparators: { constant: "JSConsumerNameContainsPathSeparatorsErr", code: 400, err_code: 10127, description: "Consumer name can not contain path separators" },
  ConsumerCreateFilterSubjectMismatch: { constant: "JSConsumerCreateFilterSubjectMismatchErr", code: 400, err_code: 10131, description: "Consumer create request did not match filtered subject from create subject" },
  ConsumerCreateDurableAndNameMismatch: { constant: "JSConsumerCreateDurableAndNameMismatch", code: 400, err_code: 10132, description: "Consumer Durable and Name have to be equal if both are provided" },
  ConsumerMetadataLength: { constant: "JSConsumerMetadataLengthErrF", code: 400, err_code: 10135, description: "consumer metadata exceeds maximum size of {limit}" },
  ConsumerDuplicateFilterSubjects: { constant: "JSConsumerDuplicateFilterSubjects", code: 400, err_code: 10136, description: "consumer cannot have both FilterSubject and FilterSubjects specified" },
  ConsumerMultipleFiltersNotAllowed: { constant: "JSConsumerMultipleFiltersNotAllowed", code: 400, err_code: 10137, description: "consumer with multiple subject filters cannot use subject based API" },
  ConsumerOverlappingSubjectFilters: { constant: "JSConsumerOverlappingSubjectFilters", code: 400, err_code: 10138, description: "consumer subject filters cannot overlap" },
  ConsumerEmptyFilter: { constant: "JSConsumerEmptyFilter", code: 400, err_code: 10139, description: "consumer filter in FilterSubjects cannot be empty" },
  ConsumerAlreadyExists: { constant: "JSConsumerAlreadyExists", code: 400, err_code: 10148, description: "consumer already exists" },
  ConsumerDoesNotExist: { constant: "JSConsumerDoesNotExist", code: 400, err_code: 10149, description: "consumer does not exist" },
  ConsumerExistingActive: { constant: "JSConsumerExistingActiveErr", code: 400, err_code: 10105, description: "consumer already exists and is still active" },
  ConsumerReplacementWithDifferentName: { constant: "JSConsumerReplacementWithDifferentNameErr", code: 400, err_code: 10106, description: "consumer replacement durable config not the same" },
  ConsumerFilterNotSubset: { constant: "JSConsumerFilterNotSubsetErr", code: 400, err_code: 10093, description: "consumer filter subject is not a valid subset of the interest subjects" },
  ConsumerReplicasShouldMatchStream: { constant: "JSConsumerReplicasShouldMatchStream", code: 400, err_code: 10134, description: "consumer config replicas must match interest retention stream's replicas" },
  StreamInvalid: { constant: "JSStreamInvalidErr", code: 500, err_code: 10096, description: "stream not valid" },
  ConsumerMaxPendingAckExcess: { constant: "JSConsumerMaxPendingAckExcessErrF", code: 400, err_code: 10121, description: "consumer max ack pending exceeds system limit of {limit}" },
  ConsumerInactiveThresholdExcess: { constant: "JSConsumerInactiveThresholdExcess", code: 400, err_code: 10153, description: "consumer inactive threshold exceeds system limit of {limit}" },
  MaximumConsumersLimit: { constant: "JSMaximumConsumersLimitErr", code: 400, err_code: 10026, description: "maximum consumers limit reached" },
  StreamExternalApiOverlap: { constant: "JSStreamExternalApiOverlapErrF", code: 400, err_code: 10021, description: "stream external api prefix {prefix} must not overlap with {subject}" },
  StreamExternalDelPrefixOverlaps: { constant: "JSStreamExternalDelPrefixOverlapsErrF", code: 400, err_code: 10022, description: "stream external delivery prefix {prefix} overlaps with stream subject {subject}" },
  StreamInvalidExternalDeliverySubj: { constant: "JSStreamInvalidExternalDeliverySubjErrF", code: 400, err_code: 10024, description: "stream external delivery prefix {prefix} must not contain wildcards" },
  MirrorWithFirstSeq: { constant: "JSMirrorWithFirstSeqErr", code: 400, err_code: 10143, description: "stream mirrors can not have first sequence configured" },
  MirrorWithSubjects: { constant: "JSMirrorWithSubjectsErr", code: 400, err_code: 10034, description: "stream mirrors can not contain subjects" },
  MirrorWithSources: { constant: "JSMirrorWithSourcesErr", code: 400, err_code: 10031, description: "stream mirrors can not also contain other sources" },
  MirrorMultipleFiltersNotAllowed: { constant: "JSMirrorMultipleFiltersNotAllowed", code: 400, err_code: 10150, description: "mirror with multiple subject transforms cannot also have a single subject filter" },
  MirrorInvalidSubjectFilter: { constant: "JSMirrorInvalidSubjectFilter", code: 400, err_code: 10151, description: "mirror subject filter is invalid" },
  MirrorOverlappingSubjectFilters: { constant: "JSMirrorOverlappingSubjectFilters", code: 400, err_code: 10152, description: "mirror subject filters can not overlap" },
  MirrorInvalidStreamName: { constant: "JSMirrorInvalidStreamName", code: 400, err_code: 10142, description: "mirrored stream name is invalid" },
  MirrorMaxMessageSizeTooBig: { constant: "JSMirrorMaxMessageSizeTooBigErr", code: 400, err_code: 10030, description: "stream mirror must have max message size >= source" },
  SourceInvalidStreamName: { constant: "JSSourceInvalidStreamName", code: 400, err_code: 10141, description: "sourced stream name is invalid" },
  SourceDuplicateDetected: { constant: "JSSourceDuplicateDetected", code: 400, err_code: 10140, description: "duplicate source configuration detected" },
  SourceMultipleFiltersNotAllowed: { constant: "JSSourceMultipleFiltersNotAllowed", code: 400, err_code: 10144, description: "source with multiple subject transforms cannot also have a single subject filter" },
  SourceInvalidTransformDestination: { constant: "JSSourceInvalidTransformDestination", code: 400, err_code: 10146, description: "source transform destination is invalid" },
  SourceInvalidSubjectFilter: { constant: "JSSourceInvalidSubjectFilter", code: 400, err_code: 10145, description: "source subject filter is invalid" },
  SourceOverlappingSubjectFilters: { constant: "JSSourceOverlappingSubjectFilters", code: 400, err_code: 10147, description: "source filters can not overlap" },
  SourceMaxMessageSizeTooBig: { constant: "JSSourceMaxMessageSizeTooBigErr", code: 400, err_code: 10046, description: "stream source must have max message size >= target" },
  StreamSnapshot: { constant: "JSStreamSnapshotErrF", code: 500, err_code: 10064, description: "snapshot failed: {err}" },
  SnapshotDeliverSubjectInvalid: { constant: "JSSnapshotDeliverSubjectInvalidErr", code: 400, err_code: 10015, description: "deliver subject not valid" },
  StreamRestore: { constant: "JSStreamRestoreErrF", code: 500, err_code: 10062, description: "restore failed: {err}" },
  StreamNameExistRestoreFailed: { constant: "JSStreamNameExistRestoreFailedErr", code: 400, err_code: 10130, description: "stream name already in use, cannot restore" },
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
