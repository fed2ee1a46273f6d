// Tested by test/jetstream/api.test.ts and test/differential/jetstream.test.ts.
// Decoding JSON requests as Go's encoding/json does for nats-server's structs: a known field of
// the wrong type (or an enum value it does not know) fails the whole request as invalid JSON.
// Shared by the stream config (config.ts), the consumer config (consumer/config.ts) and the
// API's small request objects (api.ts, consumer/api.ts).

import { JsApiError, JsErrors } from "./errors.js";

export type JsonObject = { [k: string]: unknown };

/** A field that Go's Unmarshal would refuse; decode() turns it into InvalidJSON. */
export class DecodeError extends Error {}

export const I64 = Number.MAX_SAFE_INTEGER;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Parse request bytes and decode them with `fill` (which throws DecodeError on a bad field):
 * bad syntax or a bad field throw JsApiError(InvalidJSON). JSON null is `empty` unchanged,
 * as Go's Unmarshal of null into a struct is a no-op; anything but an object is invalid.
 */
export function decodeJson<T>(raw: Buffer | string, empty: T, fill: (out: T, v: JsonObject) => void): T {
  let v: unknown;
  try {
    v = JSON.parse(typeof raw === "string" ? raw : raw.toString("utf8"));
  } catch {
    throw JsApiError.of(JsErrors.InvalidJSON);
  }
  if (v === null) return empty;
  return decodeValue(v, empty, fill);
}

/** decodeJson for a value already parsed (null is invalid here). */
export function decodeValue<T>(v: unknown, out: T, fill: (out: T, v: JsonObject) => void): T {
  try {
    fill(out, obj(v));
  } catch (e) {
    if (e instanceof DecodeError) throw JsApiError.of(JsErrors.InvalidJSON);
    throw e;
  }
  return out;
}

export function str(v: unknown): string {
  if (v === null) return "";
  if (typeof v !== "string") throw new DecodeError();
  return v;
}

export function int(v: unknown, min = -I64, max = I64): number {
  if (v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw new DecodeError();
  return v;
}

export function bool(v: unknown): boolean {
  if (v === null) return false;
  if (typeof v !== "boolean") throw new DecodeError();
  return v;
}

/** An object (null refused). */
export function obj(v: unknown): JsonObject {
  if (!isObject(v)) throw new DecodeError();
  return v;
}

/** An object, or null for null. */
export function objOrNull(v: unknown): JsonObject | null {
  return v === null ? null : obj(v);
}

/** One of the enum's strings; `fold`: compared in lower case. */
export function oneOf<T extends string>(v: unknown, allowed: readonly T[], fold = false): T {
  if (typeof v !== "string") throw new DecodeError();
  const s = fold ? v.toLowerCase() : v;
  const hit = allowed.find((a) => a === s);
  if (hit === undefined) throw new DecodeError();
  return hit;
}

export function strList(v: unknown): string[] {
  if (v === null) return [];
  if (!Array.isArray(v)) throw new DecodeError();
  return v.map(str);
}

// ---- small API requests (paging offsets, purge and msg get requests) -------------------------
// These answer null for a bad field rather than throw: each handler words its own error.

/** Decode an optional JSON request object; null when Go's Unmarshal would fail. */
export function decodeObject(data: Buffer): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(data.toString("utf8"));
    if (v === null) return {};
    if (typeof v !== "object" || Array.isArray(v)) return null;
    // Go matches field names case-insensitively.
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== null) out[k.toLowerCase()] = x;
    return out;
  } catch {
    return null;
  }
}

export function uintField(o: Record<string, unknown>, k: string): number | null {
  const v = o[k];
  if (v === undefined) return 0;
  return typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : null;
}

export function intField(o: Record<string, unknown>, k: string): number | null {
  const v = o[k];
  if (v === undefined) return 0;
  return typeof v === "number" && Number.isInteger(v) ? v : null;
}

export function strField(o: Record<string, unknown>, k: string): string | null {
  const v = o[k];
  if (v === undefined) return "";
  return typeof v === "string" ? v : null;
}

export function boolField(o: Record<string, unknown>, k: string): boolean | null {
  const v = o[k];
  if (v === undefined) return false;
  return typeof v === "boolean" ? v : null;
}
