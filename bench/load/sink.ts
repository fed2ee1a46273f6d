// Generator ceilings: a stand-in "server" that costs nothing, to show how fast the load
// generator itself can go. `discard` reads and drops (answering the final PING); `firehose`
// answers the subscriber's setup, then writes pre-encoded MSG frames as fast as it can.
//   node sink.js discard|firehose <port> [frames] [subject] [sid] [payload]
import { createServer, type Socket } from "node:net";

const [mode, portArg, framesArg, subject = "bench.one", sid = "10000", payloadArg = "16"] = process.argv.slice(2);
const frames = Number(framesArg ?? 0);
const payload = "x".repeat(Number(payloadArg));
const PING = "PING\r\n";

function firehose(sock: Socket): void {
  const frame = `MSG ${subject} ${sid} ${payload.length}\r\n${payload}\r\n`;
  const batch = Buffer.from(frame.repeat(1000), "latin1");
  let left = Math.round(frames / 1000);
  const go = (): void => {
    while (left > 0) {
      left--;
      if (!sock.write(batch)) {
        sock.once("drain", go);
        return;
      }
    }
  };
  go();
}

const server = createServer((sock) => {
  sock.setNoDelay(true);
  sock.on("error", () => {});
  let started = false;
  sock.on("data", (d: Buffer) => {
    // Only the tail of a chunk is looked at: the generator ends its writes with a PING.
    if (d.length >= 6 && d.toString("latin1", d.length - 6) === PING) {
      sock.write("PONG\r\n");
      if (mode === "firehose" && !started) {
        started = true;
        // Give the subscriber time to switch from its setup reader to its counter; its clock
        // starts at the first byte, so the pause is not measured.
        setTimeout(() => firehose(sock), 200);
      }
    }
  });
});
server.listen(Number(portArg), "127.0.0.1", () => process.stdout.write("ready\n"));
