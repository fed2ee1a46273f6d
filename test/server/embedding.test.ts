// Embedding: what `import { startServer } from "gnat"` gives an application or a test suite.
import { connect } from "@nats-io/transport-node";
import { connect as tcpConnect } from "node:net";
import { networkInterfaces } from "node:os";
import { describe, expect, test } from "vitest";

describe("embedding", () => {
  test("the package name resolves to startServer, and several servers run in one process", async () => {
    // Self-reference through package.json "exports": the same import an application writes.
    const { startServer } = await import("gnat");
    const servers = await Promise.all([1, 2, 3].map(() => startServer({ host: "127.0.0.1", port: 0, noLog: true })));
    try {
      const ports = new Set(servers.map((s) => s.port));
      expect(ports.size).toBe(3);
      for (const s of servers) expect(s.url).toBe(`nats://127.0.0.1:${s.port}`);
      // Each is its own world: a message on one does not reach a subscriber on another.
      const [a, b] = await Promise.all([connect({ servers: servers[0]!.url }), connect({ servers: servers[1]!.url })]);
      const onA = a.subscribe("x", { max: 1 });
      const onB = b.subscribe("x");
      await Promise.all([a.flush(), b.flush()]);
      b.publish("x", "from b");
      a.publish("x", "from a");
      for await (const m of onA) expect(m.string()).toBe("from a");
      await b.flush();
      expect(onB.getReceived()).toBe(1);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  test("close() is idempotent and frees the port", async () => {
    const { startServer } = await import("gnat");
    const s = await startServer({ host: "127.0.0.1", port: 0, noLog: true });
    const port = s.port;
    await Promise.all([s.close(), s.close()]);
    const again = await startServer({ host: "127.0.0.1", port, noLog: true });
    expect(again.port).toBe(port);
    await again.close();
  });

  test("close() flushes and closes connected clients", async () => {
    const { startServer } = await import("gnat");
    const s = await startServer({ host: "127.0.0.1", port: 0, noLog: true });
    const nc = await connect({ servers: s.url, reconnect: false });
    const closed = nc.closed();
    await s.close();
    await closed;
    expect(nc.isClosed()).toBe(true);
  });

  test("with no host given it listens on loopback only, where its url points", async () => {
    const { startServer } = await import("gnat");
    const s = await startServer({ port: 0, httpPort: 0, noLog: true });
    try {
      expect(s.host).toBe("127.0.0.1");
      expect(s.url).toBe(`nats://127.0.0.1:${s.port}`);
      // Not reachable on another interface of this machine (where it has one).
      const other = Object.values(networkInterfaces()).flat().find((a) => a?.family === "IPv4" && !a.internal)?.address;
      const reach = (host: string, port: number) => new Promise<boolean>((res) => {
        const sock = tcpConnect(port, host);
        sock.once("connect", () => (sock.destroy(), res(true)));
        sock.once("error", () => res(false));
      });
      expect(await reach("127.0.0.1", s.port)).toBe(true);
      const monitorPort = Number(new URL(s.monitorUrl).port);
      if (other !== undefined) {
        expect(await reach(other, s.port)).toBe(false);
        expect(await reach(other, monitorPort)).toBe(false);
      }
    } finally {
      await s.close();
    }
  });
});
