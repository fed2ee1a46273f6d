// nats-server's configuration syntax, read into gnat's options. The grammar: `key: value`,
// `key = value` or `key value`; `{}` blocks and `[]` arrays; `#` and `//` comments; `include`;
// `$VAR` variables (the file's own keys in scope, then the environment); sizes with k/kb/m/mb…
// suffixes; quoted and bare strings. Errors carry file, line and column.
//
// parse.ts reads the syntax into plain values; core.ts maps the top-level keys and hands each
// block to its file (jetstream, auth and accounts, tls, websocket, monitoring and alerts).
export { ConfigError, parseConfig, parseDuration, type ConfigMap, type ConfigValue } from "./parse.js";
export { configToOptions, loadConfigFile, type LoadedConfig } from "./core.js";
