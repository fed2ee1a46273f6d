// Stream config: decoding as Go decodes nats-server's StreamConfig, checkStreamCfg's defaults and
// checks, configUpdateCheck's rules, and the JSON written back.
import { describe, expect, test } from "vitest";
import {
  checkStreamConfig, checkStreamUpdate, configJSON, decodeStreamConfig, DEFAULT_DUPLICATE_WINDOW_NS, isValidName,
} from "../../server/jetstream/config.js";
import { JsApiError } from "../../server/jetstream/errors.js";

function errorOf(fn: () => unknown): { err_code: number; description: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof JsApiError) return e.api;
    throw e;
  }
  throw new Error("expected a JsApiError");
}

const checked = (o: object) => checkStreamConfig(decodeStreamConfig(JSON.stringify(o)));

describe("decoding", () => {
  test("unknown fields are ignored and keys match case-insensitively, as Go's decoder does", () => {
    const c = decodeStreamConfig('{"NAME":"S","Max_Msgs":5,"whatever":[1]}');
    expect([c.name, c.max_msgs]).toEqual(["S", 5]);
  });

  test("null leaves a field at its zero value", () => {
    expect(decodeStreamConfig('{"name":"S","max_msgs":null,"subjects":null}').max_msgs).toBe(0);
  });

  test.each(['{"name":1}', '{"max_msgs":1.5}', '{"retention":"Limits"}', '{"storage":"disk"}', '{"sealed":"yes"}',
    '{"subjects":"a"}', "[]", "{", '{"max_msg_size":4294967296}', '{"first_seq":-1}'])("%s is invalid JSON (10025)", (text) => {
    expect(errorOf(() => decodeStreamConfig(text)).err_code).toBe(10025);
  });

  test("discard is matched case-insensitively, storage and retention are not (as nats-server)", () => {
    expect(decodeStreamConfig('{"discard":"NEW"}').discard).toBe("new");
  });
});

describe("defaults and checks", () => {
  test("zero limits become -1, replicas 1, the window 2 minutes, subjects the name", () => {
    const c = checked({ name: "S" });
    expect([c.max_msgs, c.max_bytes, c.max_msgs_per_subject, c.max_msg_size, c.max_consumers]).toEqual([-1, -1, -1, -1, -1]);
    expect([c.num_replicas, c.duplicate_window, c.subjects, c.storage]).toEqual([1, DEFAULT_DUPLICATE_WINDOW_NS, ["S"], "file"]);
  });

  test("a max_age shorter than 2 minutes becomes the duplicate window", () => {
    expect(checked({ name: "S", max_age: 30e9 }).duplicate_window).toBe(30e9);
  });

  test.each([
    [{ name: "" }, "stream name is required and can not contain '.', '*', '>'"],
    [{ name: "a b" }, "stream name is required and can not contain '.', '*', '>'"],
    [{ name: "a*" }, "stream name is required and can not contain '.', '*', '>'"],
    [{ name: "x".repeat(256) }, "stream name is too long, maximum allowed is 255"],
    [{ name: "S", num_replicas: 6 }, "maximum replicas is 5"],
    [{ name: "S", duplicate_window: 5e6 }, "duplicates window needs to be >= 100ms"],
    [{ name: "S", max_age: 60e9, duplicate_window: 120e9 }, "duplicates window can not be larger then max age"],
    [{ name: "S", subjects: ["a..b"] }, "invalid subject"],
    [{ name: "S", subjects: [">"] }, "capturing all subjects requires no-ack to be true"],
    [{ name: "S", discard: "new", discard_new_per_subject: true }, "discard new per subject requires max msgs per subject > 0"],
  ])("%j is refused: %s", (cfg, text) => {
    expect(errorOf(() => checked(cfg))).toEqual({ code: 500, err_code: 10052, description: text });
  });

  test("negative replicas have their own error", () => {
    expect(errorOf(() => checked({ name: "S", num_replicas: -1 })).err_code).toBe(10133);
  });

  test("names follow nats-server's isValidName", () => {
    expect([isValidName("ok-name_1"), isValidName("a.b"), isValidName("a>"), isValidName("tab\t")]).toEqual([true, false, false, false]);
  });
});

describe("updates", () => {
  test("sealing turns on deny delete and purge, discard new, and drops max_age", () => {
    const old = checked({ name: "S", max_age: 3600e9 });
    const next = checkStreamUpdate(old, checked({ name: "S", max_age: 3600e9, sealed: true }));
    expect([next.sealed, next.deny_delete, next.deny_purge, next.discard, next.max_age]).toEqual([true, true, true, "new", 0]);
  });

  test.each([
    [{ storage: "memory" }, "stream configuration update can not change storage type"],
    [{ max_consumers: 3 }, "stream configuration update can not change MaxConsumers"],
    [{ retention: "workqueue" }, "stream configuration update can not change retention policy to/from workqueue"],
  ])("%j cannot change", (change, text) => {
    const old = checked({ name: "S" });
    expect(errorOf(() => checkStreamUpdate(old, checked({ name: "S", ...change }))).description).toBe(text);
  });

  test("limits to interest retention may change", () => {
    expect(checkStreamUpdate(checked({ name: "S" }), checked({ name: "S", retention: "interest" })).retention).toBe("interest");
  });
});

describe("JSON", () => {
  test("fields come in nats-server's order with its omitempty rules", () => {
    const keys = Object.keys(configJSON(checked({ name: "S" })));
    expect(keys).toEqual(["name", "subjects", "retention", "max_consumers", "max_msgs", "max_bytes", "max_age",
      "max_msgs_per_subject", "max_msg_size", "discard", "storage", "num_replicas", "duplicate_window", "compression",
      "allow_direct", "mirror_direct", "sealed", "deny_delete", "deny_purge", "allow_rollup_hdrs", "consumer_limits"]);
  });
});
