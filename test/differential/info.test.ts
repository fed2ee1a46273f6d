// INFO: the fields clients read, and the same key set as nats-server's (values differ by design).
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { NATS_SERVER, startPair, type Pair } from "./harness.js";

function readInfo(port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString("latin1");
      const m = /^INFO (\{.*\}) \r\n/.exec(buf);
      if (m) {
        s.destroy();
        resolve(JSON.parse(m[1]!) as Record<string, unknown>);
      }
    });
    s.on("error", reject);
  });
}

describe.skipIf(NATS_SERVER === null)("INFO (differential)", () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await startPair({ maxPayload: 4096 });
  });
  afterAll(() => pair?.close());

  test("has the fields clients read, typed as nats-server types them", async () => {
    const [g, n] = await Promise.all([readInfo(pair.gnatPort), readInfo(pair.natsPort)]);
    // git_commit is a build detail of nats-server; gnat has none.
    const natsKeys = Object.keys(n).filter((k) => k !== "git_commit").sort();
    expect(Object.keys(g).sort()).toEqual(natsKeys);
    for (const k of natsKeys) expect(typeof g[k], k).toBe(typeof n[k]);
    expect(g).toMatchObject({ proto: 1, headers: true, max_payload: 4096, host: "127.0.0.1", port: pair.gnatPort, client_ip: "127.0.0.1" });
    expect(g.version).toMatch(/^2\.10\.\d+$/);
    expect(g.server_id).toMatch(/^N[A-Z2-7]{55}$/);
    expect(g.server_name).toBe(g.server_id);
  });

  test("numbers clients from 1 per server", async () => {
    const a = await readInfo(pair.gnatPort);
    const b = await readInfo(pair.gnatPort);
    expect(b.client_id).toBe((a.client_id as number) + 1);
  });
});
