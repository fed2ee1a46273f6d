// A consumer of a stream: what the rest of the server uses (see consumer.ts for the parts).

export { Consumer, type ConsumerHost } from "./consumer.js";
export type { ConsumerServices, ConsumerStream } from "./types.js";
export type { PersistedConsumer } from "./persistence.js";
export { RedeliveryQueue } from "./redelivery-queue.js";
export { TokenBucket } from "./rate-limit.js";
export { parseNextRequest } from "./pull.js";
