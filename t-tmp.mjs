import * as jwt from "@nats-io/jwt";
import { writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { startServer } from "./dist/server/index.js";
import { connect, jwtAuthenticator } from "@nats-io/transport-node";
const O = jwt.createOperator(); const A = jwt.createAccount();
const acc = await jwt.encodeAccount("A", A, { limits: { conn: -1, subs: -1 } }, { signer: O });
const opj = await jwt.encodeOperator("O", O);
let url, stop;
if (process.argv[2] === "ns") {
  writeFileSync("/tmp/op/rec.conf", `port: 24899\noperator: ${opj}\nresolver: MEMORY\nresolver_preload: { ${A.getPublicKey()}: ${acc} }\n`);
  const p = spawn("nats-server", ["-c", "/tmp/op/rec.conf"], { stdio: "ignore" }); await new Promise(r => setTimeout(r, 500)); url = "127.0.0.1:24899"; stop = () => p.kill();
} else {
  const s = await startServer({ port: 0, operators: [opj], resolver: { type: "memory" }, resolverPreload: { [A.getPublicKey()]: acc } }); url = s.url; stop = () => s.close();
}
const U = jwt.createUser();
let ujwt = await jwt.encodeUser("U", U, A, { bearer_token: true }, { exp: Math.round(Date.now() / 1000) + 3 });
const timer = setInterval(() => jwt.encodeUser("U", U, A, { bearer_token: true }, { exp: Math.round(Date.now() / 1000) + 3 }).then(t => ujwt = t), 250);
const t0 = Date.now();
const nc = await connect({ servers: url, maxReconnectAttempts: -1, authenticator: jwtAuthenticator(() => ujwt) });
let n = 0;
for await (const st of nc.status()) { console.log((Date.now()-t0), st.type, String(st.error ?? "")); if (st.type === "reconnect" && ++n === 2) break; if (Date.now() - t0 > 12000) break; }
clearInterval(timer); await nc.close(); await stop();
