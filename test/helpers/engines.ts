// The HTTP/WebSocket engines this Node can run: node:http always, uWebSockets.js where its native
// binary loads (Node ≤ 20 on glibc). Tests that must hold on both run once per engine here.
import { loadUws } from "../../server/transport/engine-uws.js";
import type { HttpEngineName } from "../../server/transport/http-engine.js";

const uws = loadUws();

export const ENGINES: HttpEngineName[] = uws.ok ? ["uws", "node"] : ["node"];

if (!uws.ok) {
  console.warn(`\n*** uWebSockets.js does not load on Node ${process.versions.node} (${uws.why}): HTTP and WebSocket tests run on node:http only ***\n`);
}
