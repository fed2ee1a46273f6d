// The errors table must say exactly what nats-server says: clients match err_code and text.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { apiError, JsErrors } from "../../server/jetstream/errors.js";

interface NatsError { constant: string; code: number; error_code: number; description: string }

// The entries gnat uses, copied from nats-server v2.10's server/errors.json.
const fixture = JSON.parse(readFileSync(new URL("./fixtures/nats-server-errors.json", import.meta.url), "utf8")) as NatsError[];

/** The full errors.json from a local nats-server checkout, when one is around. */
function upstream(): NatsError[] | null {
  const git = "/work/.mirror/nats-io+nats-server/repo";
  if (!existsSync(git)) return null;
  try {
    const text = execFileSync("git", [`--git-dir=${git}`, "show", "v2.10.29:server/errors.json"], { encoding: "utf8" });
    return JSON.parse(text) as NatsError[];
  } catch {
    return null;
  }
}

describe("JetStream errors table", () => {
  test.each(Object.entries(JsErrors))("%s matches nats-server's errors.json", (_name, def) => {
    const e = fixture.find((x) => x.constant === def.constant);
    expect(e, `${def.constant} is in the fixture`).toBeDefined();
    expect({ code: def.code, err_code: def.err_code, description: def.description }).toEqual({
      code: e!.code, err_code: e!.error_code, description: e!.description,
    });
  });

  test("the fixture is a faithful copy of nats-server's errors.json (when a checkout is present)", () => {
    const all = upstream();
    if (all === null) return;
    for (const e of fixture) expect(all.find((x) => x.constant === e.constant)).toEqual(expect.objectContaining(e));
  });

  test("templates are filled from parameters", () => {
    expect(apiError(JsErrors.SequenceNotFound, { seq: 7 })).toEqual({ code: 400, err_code: 10043, description: "sequence 7 not found" });
    expect(apiError(JsErrors.StreamInvalidConfig, { err: "bad" }).description).toBe("bad");
  });
});
