// A raw WebSocket peer for the transport tests: what the server sends, as one text stream.
import WebSocket from "ws";

export interface RawPeer {
  ws: WebSocket;
  /** Every byte received so far, frames concatenated. */
  text(): string;
  /** Frames received, in order. */
  frames: Buffer[];
  /** Resolves once the received text matches (or rejects after `ms`). */
  waitFor(re: RegExp, ms?: number): Promise<string>;
  /** Resolves with the close code once the socket closes. */
  closed: Promise<number>;
}

export function rawPeer(url: string, headers: Record<string, string> = {}): Promise<RawPeer> {
  const ws = new WebSocket(url, { headers });
  const frames: Buffer[] = [];
  let waiters: (() => void)[] = [];
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  ws.on("message", (data: Buffer) => {
    frames.push(data);
    for (const w of waiters) w();
  });
  const text = (): string => Buffer.concat(frames).toString("latin1");
  const waitFor = (re: RegExp, ms = 3000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const t = text();
        if (!re.test(t)) return false;
        waiters = waiters.filter((w) => w !== onFrame);
        clearTimeout(timer);
        resolve(t);
        return true;
      };
      const onFrame = (): void => void check();
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; got ${JSON.stringify(text())}`)), ms);
      if (!check()) waiters.push(onFrame);
    });
  return new Promise((resolve, reject) => {
    ws.once("error", reject);
    ws.once("open", () => {
      ws.off("error", reject);
      // Later errors end in "close", which is what the tests look at.
      ws.on("error", () => {});
      resolve({ ws, frames, text, waitFor, closed });
    });
  });
}
