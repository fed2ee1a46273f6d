// Every -ERR the server sends, with whether nats-server closes the connection after it.
// Texts are nats-server's, byte for byte (case included).

export interface ProtocolErrorDef {
  readonly text: string;
  readonly close: boolean;
}

export const Errors = {
  UnknownProtocol: { text: "Unknown Protocol Operation", close: true },
  MaxPayload: { text: "Maximum Payload Violation", close: true },
  MaxControlLine: { text: "maximum control line exceeded", close: true },
  MaxConnections: { text: "maximum connections exceeded", close: true },
  MaxSubscriptions: { text: "maximum subscriptions exceeded", close: false },
  InvalidPublishSubject: { text: "Invalid Publish Subject", close: false },
  InvalidSubject: { text: "Invalid Subject", close: false },
  StaleConnection: { text: "Stale Connection", close: true },
  BadClientProtocol: { text: "invalid client protocol", close: true },
  AuthorizationViolation: { text: "Authorization Violation", close: true },
  AuthenticationTimeout: { text: "Authentication Timeout", close: true },
  NoRespondersRequiresHeaders: { text: "no responders requires headers support", close: true },
  UserAuthenticationExpired: { text: "User Authentication Expired", close: true },
  UserAuthenticationRevoked: { text: "User Authentication Revoked", close: true },
  AccountAuthenticationExpired: { text: "Account Authentication Expired", close: true },
  MaxAccountConnections: { text: "maximum account active connections exceeded", close: true },
} as const satisfies Record<string, ProtocolErrorDef>;

export type ErrorName = keyof typeof Errors;

/** The wire form: `-ERR 'text'\r\n`. */
export function errorLine(text: string): Buffer {
  return Buffer.from(`-ERR '${text}'\r\n`, "latin1");
}

/**
 * The permission errors carry the subject (Go's %q quoting; JSON's is the same for subjects,
 * which hold no control characters). nats-server keeps the connection after them.
 */
export function publishViolation(subject: string): string {
  return `Permissions Violation for Publish to ${JSON.stringify(subject)}`;
}

/** Sent when a config reload takes away a subscription the client had (queue or not). */
export function subscriptionRemoved(subject: string, sid: string): string {
  return `Permissions Violation for Subscription to ${JSON.stringify(subject)} (sid ${JSON.stringify(sid)})`;
}

export function subscribeViolation(subject: string, queue: string): string {
  const base = `Permissions Violation for Subscription to ${JSON.stringify(subject)}`;
  return queue === "" ? base : `${base} using queue ${JSON.stringify(queue)}`;
}
