// Tested by test/server/embedding.test.ts and test/server/lameduck.test.ts.
// The clients' end at shutdown: each is told "Server Shutdown" and closed after what it has queued
// is written; sockets that have not closed within the grace period are destroyed. Part of the
// composition root.
import type { ClientConnection } from "../core/connection.js";

const CLOSE_GRACE_MS = 2000;

export async function closeClients(clients: Map<number, ClientConnection>): Promise<void> {
  const sockets: Promise<void>[] = [];
  for (const c of [...clients.values()]) {
    const s = c.socket;
    if (!s.destroyed) sockets.push(new Promise((resolve) => s.once("close", () => resolve())));
    c.close("Server Shutdown", true);
  }
  await Promise.race([
    Promise.all(sockets),
    new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref()),
  ]);
  for (const c of clients.values()) c.socket.destroy();
}
