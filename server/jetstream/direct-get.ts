// Tested by test/jetstream/api.test.ts and test/differential/jetstream.test.ts.
// Direct get ($JS.API.DIRECT.GET.<stream>[.<subject>]): answered by a stream with allow_direct,
// and by its mirrors with mirror_direct, from one queue group, with the message as stored and
// nats-server's Nats-Stream / -Subject / -Sequence / -Time-Stamp headers.

import { fromWire } from "../../protocol/subject.js";
import type { InternalClient, InternalMsg, InternalSubscription } from "../core/internal-client.js";
import { tsToRFC3339, type StoredMsg } from "./store.js";

type Lookup = (seq: number, lastFor: string, nextFor: string) => StoredMsg | null;

/** Subscribe to `base` and `base.>` (queue `_sys_`, as nats-server) answering from `lookup`. */
export function serveDirectGet(ic: InternalClient, base: string, stream: string, lookup: Lookup): InternalSubscription[] {
  return [
    ic.subscribe(base, (m) => onDirectGet(ic, m, false, base, stream, lookup), { queue: "_sys_" }),
    ic.subscribe(`${base}.>`, (m) => onDirectGet(ic, m, true, base, stream, lookup), { queue: "_sys_" }),
  ];
}

function onDirectGet(ic: InternalClient, m: InternalMsg, bySubject: boolean, base: string, stream: string, lookup: Lookup): void {
  if (m.reply === "") return;
  const status = (text: string): void => { ic.publish(m.reply, Buffer.alloc(0), { headers: Buffer.from(`NATS/1.0 ${text}\r\n\r\n`) }); };
  let seq = 0;
  let lastFor = "";
  let nextFor = "";
  if (bySubject) {
    if (m.data.length !== 0) return status("408 Bad Request");
    const prefix = `${base}.`;
    lastFor = m.subject.startsWith(prefix) ? m.subject.slice(prefix.length) : "";
    if (lastFor === "") return status("408 Bad Request");
  } else {
    if (m.data.length === 0) return status("408 Empty Request");
    const req = parseMsgGetRequest(m.data);
    if (req === null) return status("408 Malformed Request");
    ({ seq, lastFor, nextFor } = req);
    if (seq === 0 && lastFor === "" && nextFor === "") return status("408 Empty Request");
    if ((seq > 0 && lastFor !== "") || (lastFor !== "" && nextFor !== "")) return status("408 Bad Request");
  }
  const sm = lookup(seq, lastFor, nextFor);
  if (sm === null) return status("404 Message Not Found");
  ic.publish(m.reply, sm.data, { headers: directGetHeaders(stream, sm) });
}

/** nats-server's direct-get reply headers: the stored ones (if any) plus where the message lives. */
function directGetHeaders(stream: string, sm: StoredMsg): Buffer {
  const extra = `Nats-Stream: ${stream}\r\nNats-Subject: ${fromWire(sm.subject)}\r\nNats-Sequence: ${sm.seq}\r\nNats-Time-Stamp: ${tsToRFC3339(sm.ts)}\r\n\r\n`;
  if (sm.hdr === null || sm.hdr.length === 0) return Buffer.from(`NATS/1.0\r\n${extra}`, "latin1");
  // Drop the stored block's closing CRLF and append ours.
  return Buffer.concat([sm.hdr.subarray(0, sm.hdr.length - 2), Buffer.from(extra, "latin1")]);
}

export interface MsgGetRequest {
  seq: number;
  lastFor: string;
  nextFor: string;
}

/** JSApiMsgGetRequest as Go decodes it; null when it would not decode. */
export function parseMsgGetRequest(data: Buffer): MsgGetRequest | null {
  let v: unknown;
  try {
    v = JSON.parse(data.toString("utf8"));
  } catch {
    return null;
  }
  const out: MsgGetRequest = { seq: 0, lastFor: "", nextFor: "" };
  if (v === null) return out;
  if (typeof v !== "object" || Array.isArray(v)) return null;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (x === null) continue;
    switch (k.toLowerCase()) {
      case "seq":
        if (typeof x !== "number" || !Number.isInteger(x) || x < 0) return null;
        out.seq = x;
        break;
      case "last_by_subj":
        if (typeof x !== "string") return null;
        out.lastFor = x;
        break;
      case "next_by_subj":
        if (typeof x !== "string") return null;
        out.nextFor = x;
        break;
    }
  }
  return out;
}

