import { describe, expect, test } from "vitest";
import { applyConnect, defaultConnectOptions } from "../../protocol/connect.js";

describe("CONNECT options", () => {
  test("start verbose, pedantic and echoing, as nats-server's clients do", () => {
    const o = defaultConnectOptions();
    expect([o.verbose, o.pedantic, o.echo, o.headers, o.no_responders]).toEqual([true, true, true, false, false]);
  });
  test("keep their value for fields a CONNECT leaves out", () => {
    const o = defaultConnectOptions();
    applyConnect(o, '{"verbose":false}');
    expect(o.verbose).toBe(false);
    expect(o.pedantic).toBe(true);
    applyConnect(o, '{"name":"x"}');
    expect(o.verbose).toBe(false);
    expect(o.name).toBe("x");
  });
  test("match keys case-insensitively and ignore unknown keys and nulls", () => {
    const o = defaultConnectOptions();
    applyConnect(o, '{"Verbose":false,"whatever":1,"echo":null}');
    expect(o.verbose).toBe(false);
    expect(o.echo).toBe(true);
  });
  test.each(['{"verbose":"false"}', "not json", "[1]", '{"protocol":1.5}', '{"name":1}'])("reject %s", (json) => {
    expect(() => applyConnect(defaultConnectOptions(), json)).toThrow();
  });
});
