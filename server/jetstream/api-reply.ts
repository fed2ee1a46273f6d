// Tested by test/jetstream/api.test.ts and test/jetstream/errors.test.ts.
// A JetStream API reply as nats-server shapes it (jetstream_api.go): a "type", then either the
// error or the payload, and whether it counts as an API error. Shared by the stream half of the
// API (api.ts) and the consumer half (consumer/api.ts).

import type { JsonObject } from "./decode.js";
import { apiError, JsErrors, type ApiError } from "./errors.js";

/** nats-server JSApiNamesLimit / JSApiListLimit: the page sizes of names and list replies. */
export const NAMES_LIMIT = 1024;
export const LIST_LIMIT = 256;

/** A reply: the JSON body, and whether nats-server counts it as an API error. */
export interface Reply {
  body: JsonObject;
  /** nats-server's sendAPIErrResponse (counts an error) vs sendAPIResponse. */
  counted: "ok" | "error" | "uncounted";
}

export function ok(body: JsonObject): Reply {
  return { body, counted: "ok" };
}

export function err(type: string, e: ApiError, extra: JsonObject = {}): Reply {
  return { body: { type, error: e, ...extra }, counted: "error" };
}

/** nats-server isEmptyRequest: no bytes, or a JSON object with no keys. */
export function isEmptyRequest(data: Buffer): boolean {
  if (data.length === 0) return true;
  try {
    const v: unknown = JSON.parse(data.toString("utf8"));
    return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
  } catch {
    return false;
  }
}

export const INVALID_JSON = (): ApiError => apiError(JsErrors.InvalidJSON);
