// gnat's public API, for embedders: startServer(options) and the Server it returns (server.ts),
// the options, config files, reload errors and the internal-client types. Nothing else lives here.
export { GNAT_VERSION, PROTO_VERSION, SERVER_VERSION, Server, startServer } from "./server.js";
export { type ServerOptions, type ServerOptionsInput } from "./options.js";
export type { InternalClient, InternalMsg, InternalSubscription, PublishOptions } from "./core/internal-client.js";
export { ReloadError } from "./process/reload.js";
/** nats-server config files, for embedders: `startServer(loadConfigFile(path).options)`, and reload. */
export { ConfigError, loadConfigFile } from "./config/index.js";
/** What startServer throws when the JetStream store dir is in use by another server. */
export { StoreLockedError } from "./jetstream/store-lock.js";
