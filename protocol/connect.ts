// CONNECT options. Fields a CONNECT leaves out keep their current value, and a connection
// starts as nats-server's clients do: verbose, pedantic and echo on.

export interface ConnectOptions {
  verbose: boolean;
  pedantic: boolean;
  echo: boolean;
  headers: boolean;
  no_responders: boolean;
  tls_required: boolean;
  protocol: number;
  name: string;
  lang: string;
  version: string;
  user: string;
  pass: string;
  auth_token: string;
  jwt: string;
  nkey: string;
  sig: string;
}

export function defaultConnectOptions(): ConnectOptions {
  return {
    verbose: true, pedantic: true, echo: true, headers: false, no_responders: false,
    tls_required: false, protocol: 0, name: "", lang: "", version: "", user: "", pass: "",
    auth_token: "", jwt: "", nkey: "", sig: "",
  };
}

const FIELD_TYPES: Record<string, "boolean" | "string" | "number"> = {
  verbose: "boolean", pedantic: "boolean", echo: "boolean", headers: "boolean",
  no_responders: "boolean", tls_required: "boolean", protocol: "number", name: "string",
  lang: "string", version: "string", user: "string", pass: "string", auth_token: "string",
  jwt: "string", nkey: "string", sig: "string",
};

/**
 * Apply a CONNECT's JSON to `into`. Like Go's decoder: keys match case-insensitively, null
 * leaves a field alone, a wrong type is an error. Throws on malformed input.
 */
export function applyConnect(into: ConnectOptions, json: string): void {
  const parsed: unknown = JSON.parse(json);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error("CONNECT argument is not a JSON object");
  }
  const target = into as unknown as Record<string, unknown>;
  for (const [rawKey, value] of Object.entries(parsed as Record<string, unknown>)) {
    const key = rawKey in FIELD_TYPES ? rawKey : rawKey.toLowerCase();
    const type = FIELD_TYPES[key];
    if (type === undefined || value === null) continue;
    if (typeof value !== type) throw new Error(`CONNECT field ${rawKey}: expected ${type}`);
    if (type === "number" && !Number.isInteger(value)) throw new Error(`CONNECT field ${rawKey}: expected integer`);
    target[key] = value;
  }
}

/** A CONNECT with no user, password, token, nkey or JWT. */
export function sendsNoCredentials(opts: ConnectOptions): boolean {
  return opts.user === "" && opts.pass === "" && opts.auth_token === "" && opts.nkey === "" && opts.jwt === "";
}
