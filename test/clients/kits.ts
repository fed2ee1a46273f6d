// The two official Node clients behind one small shape, so each behaviour is written once and
// run with both: @nats-io/transport-node (v3) and nats (v2).
import * as v3 from "@nats-io/transport-node";
import * as v2 from "nats";

export interface MsgHdrs {
  get(k: string): string;
  values(k: string): string[];
  set(k: string, v: string): void;
  append(k: string, v: string): void;
}

export interface Msg {
  subject: string;
  reply?: string;
  data: Uint8Array;
  headers?: MsgHdrs;
  respond(data?: Uint8Array | string, opts?: { headers?: MsgHdrs }): boolean;
}

export interface Sub extends AsyncIterable<Msg> {
  unsubscribe(max?: number): void;
  drain(): Promise<void>;
  getReceived(): number;
  isClosed(): boolean;
}

export interface Conn {
  info?: { version: string; headers?: boolean; max_payload: number };
  publish(subject: string, data?: Uint8Array | string, opts?: { reply?: string; headers?: MsgHdrs }): void;
  subscribe(subject: string, opts?: { queue?: string; max?: number; callback?: (err: Error | null, msg: Msg) => void }): Sub;
  request(subject: string, data?: Uint8Array | string, opts?: { timeout?: number; headers?: MsgHdrs }): Promise<Msg>;
  flush(): Promise<void>;
  drain(): Promise<void>;
  close(): Promise<void>;
  closed(): Promise<void | Error>;
  isClosed(): boolean;
}

/** The connect options both clients share (credentials included). */
export interface ConnectOpts {
  servers: string;
  noEcho?: boolean;
  name?: string;
  token?: string;
  user?: string;
  pass?: string;
  /** From the same kit's nkeyAuthenticator. */
  authenticator?: unknown;
}

export interface Kit {
  name: string;
  connect(opts: ConnectOpts): Promise<Conn>;
  headers(): MsgHdrs;
  /** The client's own nkey authenticator for a user seed. */
  nkeyAuthenticator(seed: Uint8Array): unknown;
}

export const kits: Kit[] = [
  {
    name: "@nats-io/transport-node v3",
    connect: async (o) => (await v3.connect({ ...o, reconnect: false } as v3.NodeConnectionOptions)) as unknown as Conn,
    headers: () => v3.headers() as unknown as MsgHdrs,
    nkeyAuthenticator: (seed) => v3.nkeyAuthenticator(seed),
  },
  {
    name: "nats v2",
    connect: async (o) => (await v2.connect({ ...o, reconnect: false } as v2.ConnectionOptions)) as unknown as Conn,
    headers: () => v2.headers() as unknown as MsgHdrs,
    nkeyAuthenticator: (seed) => v2.nkeyAuthenticator(seed),
  },
];

/** The two clients report no responders differently (v2: code "503"; v3: an error class). */
export function isNoResponders(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    const x = e as { code?: unknown; name?: unknown; message?: unknown };
    if (x.code === "503" || x.name === "NoRespondersError" || /no responders/i.test(String(x.message))) return true;
    if (typeof (e as { isNoResponders?: () => boolean }).isNoResponders === "function" &&
      (e as { isNoResponders: () => boolean }).isNoResponders()) return true;
  }
  return false;
}

export const text = (m: Msg): string => new TextDecoder().decode(m.data);

/** Collect `n` messages from a subscription, or fail after `ms`. */
export async function take(sub: Sub, n: number, ms = 5000): Promise<Msg[]> {
  const out: Msg[] = [];
  if (n === 0) return out;
  const timer = setTimeout(() => sub.unsubscribe(), ms);
  for await (const m of sub) {
    out.push(m);
    if (out.length >= n) break;
  }
  clearTimeout(timer);
  if (out.length < n) throw new Error(`got ${out.length} of ${n} messages`);
  return out;
}
