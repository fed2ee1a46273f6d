// gnat server check stream|consumer|jetstream: natscli's checks, as its monitor package (jsm.go)
// computes and prints them: "STATUS NAME Crit:… Warn:… OK:… | perfdata", exit 0 OK, 1 WARNING,
// 2 CRITICAL. Failing to connect or to find the stream is CRITICAL too (a Nagios line, not a
// "gnat:" error), as natscli does; bad flags stay usage errors.
import type { Command } from "commander";
import type { ConsumerInfo, JetStreamAccountStats, StreamInfo } from "@nats-io/jetstream";
import { connectionOptions, type ConnectionFlags } from "../connect.js";
import { parseDuration } from "../duration.js";
import { parseChoice, parseInteger } from "../ui.js";
import { jsText, withJetStream } from "./js.js";
import { io } from "../io.js";

interface Perf {
  name: string;
  value: number;
  warn?: number;
  crit?: number;
  unit?: string;
}

/** jsm.go's monitor.Result: what a check found, and how it prints and exits. */
export class CheckResult {
  readonly criticals: string[] = [];
  readonly warnings: string[] = [];
  readonly oks: string[] = [];
  readonly perf: Perf[] = [];
  constructor(readonly name: string, readonly check: string) {}

  critical(s: string): void {
    this.criticals.push(s);
  }
  warn(s: string): void {
    this.warnings.push(s);
  }
  ok(s: string): void {
    this.oks.push(s);
  }
  pd(...p: Perf[]): void {
    this.perf.push(...p);
  }

  get status(): "OK" | "WARNING" | "CRITICAL" {
    return this.criticals.length > 0 ? "CRITICAL" : this.warnings.length > 0 ? "WARNING" : "OK";
  }

  get exitCode(): number {
    return { OK: 0, WARNING: 1, CRITICAL: 2 }[this.status];
  }

  nagios(): string {
    const parts = [this.name, ...this.criticals.map((c) => `Crit:${c}`), ...this.warnings.map((w) => `Warn:${w}`), ...this.oks.map((o) => `OK:${o}`)];
    const text = parts.join(" ").replace(/\|/g, "/");
    return this.perf.length === 0 ? `${this.status} ${text}` : `${this.status} ${text} | ${this.perf.map(perfText).join(" ")}`;
  }

  json(): string {
    return JSON.stringify({
      name: this.name, check_suite: "gnat", check: this.check, status: this.status,
      ...(this.criticals.length > 0 ? { criticals: this.criticals } : {}),
      ...(this.warnings.length > 0 ? { warnings: this.warnings } : {}),
      ...(this.oks.length > 0 ? { oks: this.oks } : {}),
      perf_data: this.perf.map((p) => ({ name: p.name, value: p.value, warning: p.warn ?? 0, critical: p.crit ?? 0, ...(p.unit === undefined ? {} : { unit: p.unit }) })),
    }, null, 2);
  }
}

/** Nagios perfdata as jsm.go prints it: name=value[unit][;warn][;crit], seconds to 4 places. */
function perfText(p: Perf): string {
  const fmt = (v: number): string => (p.unit === "s" ? v.toFixed(4) : v.toFixed(0));
  const name = /[ \t]/.test(p.name) ? `'${p.name}'` : p.name;
  let s = `${name}=${fmt(p.value)}${p.unit ?? ""}`;
  const w = p.warn ?? 0;
  const c = p.crit ?? 0;
  if (w !== 0 || c !== 0) {
    s += w !== 0 ? `;${fmt(w)}` : ";";
    if (c !== 0) s += `;${fmt(c)}`;
  }
  return s;
}

interface CheckFlags extends ConnectionFlags {
  format: string;
}

const num = (v: string | undefined, flag: string, min = 0): number | undefined => (v === undefined ? undefined : parseInteger(v, flag, min));
const secs = (v: string | undefined, flag: string): number | undefined => (v === undefined ? undefined : parseDuration(v, flag) / 1000);
/** Nanoseconds (the server's durations) to seconds. */
const nsToS = (ns: number): number => ns / 1e9;

async function runCheck(result: CheckResult, flags: CheckFlags, body: (r: CheckResult) => Promise<void>): Promise<number> {
  const format = parseChoice(flags.format, "--format", ["nagios", "json"] as const);
  try {
    await body(result);
  } catch (err) {
    result.critical(`could not load info: ${jsText(err)}`);
  }
  io().stdout.write(`${format === "json" ? result.json() : result.nagios()}\n`);
  return result.exitCode;
}

interface StreamCheckFlags extends CheckFlags {
  stream: string;
  msgsWarn?: string;
  msgsCritical?: string;
  subjectsWarn?: string;
  subjectsCritical?: string;
  lagCritical?: string;
  seenCritical?: string;
  minSources?: string;
  maxSources?: string;
  peerExpect?: string;
  peerLagCritical?: string;
  peerSeenCritical?: string;
}

/** jsm.go's CheckStreamInfoHealth: cluster, messages, subjects, sources, mirror. */
type Opt = number | undefined;

export function checkStreamInfo(si: StreamInfo, r: CheckResult, o: {
  msgsWarn?: Opt; msgsCrit?: Opt; subjectsWarn?: Opt; subjectsCrit?: Opt; lagCrit?: Opt; seenCrit?: Opt;
  minSources?: Opt; maxSources?: Opt; peerExpect?: Opt; peerLagCrit?: Opt; peerSeenCrit?: Opt;
}): void {
  // Cluster
  const cl = si.cluster;
  const replicas = si.config.num_replicas ?? 1;
  if (!((cl === undefined || replicas <= 1) && (o.peerExpect ?? 0) <= 0)) {
    if (cl === undefined || replicas <= 1) r.critical("Stream is not clustered");
    else if ((cl.leader ?? "") === "") r.critical("No leader");
    else {
      const peers = (cl.replicas ?? []).length + 1;
      if (peers !== o.peerExpect) r.critical(`Expected ${o.peerExpect} replicas got ${peers}`);
      else {
        r.ok(`${peers} peers`);
        const reps = cl.replicas ?? [];
        const offline = reps.filter((p) => p.offline === true).length;
        const lagged = reps.filter((p) => (o.peerLagCrit ?? 0) > 0 && (p.lag ?? 0) > o.peerLagCrit!).length;
        const inactive = reps.filter((p) => (o.peerSeenCrit ?? 0) > 0 && nsToS(p.active) > o.peerSeenCrit!).length;
        if (offline > 0) r.critical(`${offline} replicas offline`);
        if ((o.peerLagCrit ?? 0) > 0) {
          if (lagged > 0) r.critical(`${lagged} replicas lagged`);
          else r.ok("replicas are current");
        }
        if ((o.peerSeenCrit ?? 0) > 0) {
          if (inactive > 0) r.critical(`${inactive} replicas inactive`);
          else r.ok("replicas are active");
        }
      }
    }
  }
  // Messages
  const msgs = si.state.messages;
  if ((o.msgsCrit ?? 0) > 0 || (o.msgsWarn ?? 0) > 0) {
    r.pd({ name: "messages", value: msgs, warn: o.msgsWarn ?? 0, crit: o.msgsCrit ?? 0 });
    if ((o.msgsCrit ?? 0) > 0 && msgs <= o.msgsCrit!) r.critical(`${msgs} messages`);
    else if ((o.msgsWarn ?? 0) > 0 && msgs <= o.msgsWarn!) r.warn(`${msgs} messages`);
    else r.ok(`${msgs} messages`);
  }
  // Subjects: fewer is worse when warn > crit, more is worse otherwise.
  if ((o.subjectsWarn ?? 0) > 0 || (o.subjectsCrit ?? 0) > 0) {
    const ns = si.state.num_subjects ?? 0;
    const w = o.subjectsWarn ?? 0;
    const c = o.subjectsCrit ?? 0;
    const lt = w < c;
    r.pd({ name: "subjects", value: ns, warn: w, crit: c });
    if (lt && ns >= c) r.critical(`${ns} subjects`);
    else if (lt && ns >= w) r.warn(`${ns} subjects`);
    else if (!lt && ns <= c) r.critical(`${ns} subjects`);
    else if (!lt && ns <= w) r.warn(`${ns} subjects`);
    else r.ok(`${ns} subjects`);
  }
  // Sources
  const sources = si.sources ?? [];
  r.pd({ name: "sources", value: sources.length, warn: o.minSources ?? 0, crit: o.maxSources ?? 0 });
  if ((o.minSources ?? 0) > 0 && sources.length < o.minSources!) r.critical(`${sources.length} sources`);
  else if ((o.maxSources ?? 0) > 0 && sources.length > o.maxSources!) r.critical(`${sources.length} sources`);
  else r.ok(`${sources.length} sources`);
  const lagOn = (o.lagCrit ?? 0) > 0;
  const seenOn = (o.seenCrit ?? 0) > 0;
  if (lagOn || seenOn) {
    const lagged = sources.filter((s) => lagOn && s.lag >= o.lagCrit!).length;
    const inactive = sources.filter((s) => seenOn && nsToS(s.active) >= o.seenCrit!).length;
    r.pd({ name: "sources_lagged", value: lagged }, { name: "sources_inactive", value: inactive });
    if (lagged > 0) r.critical(`${lagged} sources are lagged`);
    else r.ok(`${sources.length} sources current`);
    if (inactive > 0) r.critical(`${inactive} sources are inactive`);
    else r.ok(`${sources.length} sources active`);
    // Mirror (sources and a mirror exclude each other)
    if (sources.length === 0) {
      if (si.config.mirror === undefined) r.critical("not mirrored");
      else if (si.mirror === undefined) r.critical("invalid state");
      else {
        const m = si.mirror;
        r.pd({ name: "lag", value: m.lag, crit: o.lagCrit ?? 0 }, { name: "active", value: nsToS(m.active), crit: o.seenCrit ?? 0, unit: "s" });
        let good = true;
        if (lagOn && m.lag >= o.lagCrit!) {
          r.critical(`Mirror Lag ${m.lag}`);
          good = false;
        }
        if (seenOn && nsToS(m.active) >= o.seenCrit!) {
          r.critical(`Mirror Seen ${nsToS(m.active)}s`);
          good = false;
        }
        if (good) r.ok(`Mirror ${si.config.mirror.name}`);
      }
    }
  }
}

interface ConsumerCheckFlags extends CheckFlags {
  stream: string;
  consumer: string;
  outstandingAckCritical?: string;
  waitingCritical?: string;
  unprocessedCritical?: string;
  lastDeliveryCritical?: string;
  lastAckCritical?: string;
  redeliveryCritical?: string;
}

/** jsm.go's consumer checks: ack pending, waiting pulls, unprocessed, redelivered, last delivery and ack. */
export function checkConsumerInfo(ci: ConsumerInfo, r: CheckResult, o: {
  ackCrit?: Opt; waitingCrit?: Opt; unprocessedCrit?: Opt; redeliveryCrit?: Opt; lastDeliveryCrit?: Opt; lastAckCrit?: Opt;
}, now = Date.now()): void {
  const since = (t: unknown): number | undefined => {
    if (typeof t !== "string") return undefined;
    const ms = Date.parse(t);
    return Number.isNaN(ms) || ms <= 0 ? undefined : (now - ms) / 1000;
  };
  const lastDelivery = since((ci.delivered as unknown as { last_active?: unknown }).last_active);
  const lastAck = since((ci.ack_floor as unknown as { last_active?: unknown }).last_active);
  r.pd({ name: "ack_pending", value: ci.num_ack_pending, crit: o.ackCrit ?? 0 });
  r.pd({ name: "pull_waiting", value: ci.num_waiting, crit: o.waitingCrit ?? 0 });
  r.pd({ name: "pending", value: ci.num_pending, crit: o.unprocessedCrit ?? 0 });
  r.pd({ name: "redelivered", value: ci.num_redelivered, crit: o.redeliveryCrit ?? 0 });
  if (lastDelivery !== undefined) r.pd({ name: "last_delivery", value: lastDelivery, unit: "s", crit: o.lastDeliveryCrit ?? 0 });
  if (lastAck !== undefined) r.pd({ name: "last_ack", value: lastAck, unit: "s", crit: o.lastAckCrit ?? 0 });
  const threshold = (crit: Opt, value: number, label: string): void => {
    if ((crit ?? 0) <= 0) return;
    if (value >= crit!) r.critical(`${label}: ${value}`);
    else r.ok(`${label}: ${value}`);
  };
  threshold(o.ackCrit, ci.num_ack_pending, "Ack Pending");
  threshold(o.waitingCrit, ci.num_waiting, "Waiting Pulls");
  threshold(o.unprocessedCrit, ci.num_pending, "Unprocessed Messages");
  threshold(o.redeliveryCrit, ci.num_redelivered, "Redelivered");
  if ((o.lastDeliveryCrit ?? 0) > 0) {
    if (lastDelivery === undefined) r.critical("No deliveries");
    else if (lastDelivery >= o.lastDeliveryCrit!) r.critical(`Last delivery ${lastDelivery.toFixed(3)}s ago`);
    else r.ok(`Last delivery ${lastDelivery.toFixed(3)}s ago`);
  }
  if ((o.lastAckCrit ?? 0) > 0) {
    if (lastAck === undefined) r.critical("No acks");
    else if (lastAck >= o.lastAckCrit!) r.critical(`Last ack ${lastAck.toFixed(3)}s ago`);
    else r.ok(`Last ack ${lastAck.toFixed(3)}s ago`);
  }
}

interface JsCheckFlags extends CheckFlags {
  memWarn: string;
  memCritical: string;
  storeWarn: string;
  storeCritical: string;
  streamsWarn: string;
  streamsCritical: string;
  consumersWarn: string;
  consumersCritical: string;
  replicas: boolean;
  replicaSeenCritical: string;
  replicaLagCritical: string;
}

/** jsm.go's checkJSAccountInfo: usage against the account's limits, in percent. */
export function checkAccountInfo(info: JetStreamAccountStats, r: CheckResult, o: Record<"memory" | "storage" | "streams" | "consumers", [number, number]>): void {
  const item = (name: "memory" | "storage" | "streams" | "consumers", unit: string, max: number, current: number): void => {
    const [warn, crit] = o[name];
    const pct = max > 0 ? Math.floor((current / max) * 100) : 0;
    r.pd({ name, value: current, ...(unit === "" ? {} : { unit }) });
    r.pd({ name: `${name}_pct`, value: pct, unit: "%", warn: Math.max(0, warn), crit: Math.max(0, crit) });
    if (warn !== -1 && crit !== -1 && warn >= crit) return void r.critical(`${name}: invalid thresholds`);
    if (pct > 100) return void r.critical(`${name}: exceed server limits`);
    if (warn >= 0 && crit >= 0) {
      if (pct > crit) r.critical(`${pct}% ${name}`);
      else if (pct > warn) r.warn(`${pct}% ${name}`);
    }
  };
  item("memory", "B", info.limits.max_memory, info.memory);
  item("storage", "B", info.limits.max_storage, info.storage);
  item("streams", "", info.limits.max_streams, info.streams);
  item("consumers", "", info.limits.max_consumers, info.consumers);
}

/** jsm.go's checkStreamClusterHealth over every stream of the account. */
export function checkReplicas(infos: StreamInfo[], r: CheckResult, seenCrit: number, lagCrit: number): void {
  let ok = 0;
  let noLeader = 0;
  let missing = 0;
  let fail = 0;
  let lagged = 0;
  let unseen = 0;
  for (const si of infos) {
    if ((si.config.num_replicas ?? 1) <= 1) {
      ok++;
      continue;
    }
    const cl = si.cluster;
    if (cl === undefined) {
      fail++;
      continue;
    }
    if ((cl.leader ?? "") === "") {
      noLeader++;
      continue;
    }
    if ((cl.replicas ?? []).length !== si.config.num_replicas - 1) {
      missing++;
      continue;
    }
    let good = true;
    for (const p of cl.replicas ?? []) {
      if (p.offline === true) {
        fail++;
        good = false;
      } else if (seenCrit > 0 && nsToS(p.active) > seenCrit) {
        unseen++;
        good = false;
      } else if (lagCrit > 0 && (p.lag ?? 0) > lagCrit) {
        lagged++;
        good = false;
      }
    }
    if (good) ok++;
  }
  r.pd({ name: "replicas_ok", value: ok }, { name: "replicas_no_leader", value: noLeader }, { name: "replicas_missing_replicas", value: missing },
    { name: "replicas_lagged", value: lagged, crit: lagCrit }, { name: "replicas_not_seen", value: unseen, crit: seenCrit, unit: "s" },
    { name: "replicas_fail", value: fail });
  const unhealthy = fail + missing + noLeader + unseen + lagged;
  if (unhealthy > 0) r.critical(`${unhealthy} unhealthy streams`);
}

export function jetstreamChecks(check: Command): void {
  const format = (c: Command): Command => c.option("--format <format>", "nagios or json", "nagios");

  connectionOptions(format(check.command("stream")
    .description("a stream's health: messages, subjects, sources, mirror lag, cluster peers (Nagios exit codes)")
    .requiredOption("--stream <name>", "the stream to check")
    .option("--msgs-warn <n>", "WARNING with this many messages or fewer")
    .option("--msgs-critical <n>", "CRITICAL with this many messages or fewer")
    .option("--subjects-warn <n>", "WARNING threshold for subjects in the stream")
    .option("--subjects-critical <n>", "CRITICAL threshold for subjects in the stream")
    .option("--lag-critical <n>", "CRITICAL when a source or the mirror lags this many messages")
    .option("--seen-critical <duration>", "CRITICAL when a source or the mirror was last seen this long ago")
    .option("--min-sources <n>", "CRITICAL with fewer sources")
    .option("--max-sources <n>", "CRITICAL with more sources")
    .option("--peer-expect <n>", "cluster replicas to expect")
    .option("--peer-lag-critical <n>", "CRITICAL when a cluster peer lags this many operations")
    .option("--peer-seen-critical <duration>", "CRITICAL when a cluster peer was last seen this long ago")))
    .action(async (f: StreamCheckFlags) => {
      const o = {
        msgsWarn: num(f.msgsWarn, "--msgs-warn"), msgsCrit: num(f.msgsCritical, "--msgs-critical"),
        subjectsWarn: num(f.subjectsWarn, "--subjects-warn"), subjectsCrit: num(f.subjectsCritical, "--subjects-critical"),
        lagCrit: num(f.lagCritical, "--lag-critical"), seenCrit: secs(f.seenCritical, "--seen-critical"),
        minSources: num(f.minSources, "--min-sources"), maxSources: num(f.maxSources, "--max-sources"),
        peerExpect: num(f.peerExpect, "--peer-expect"), peerLagCrit: num(f.peerLagCritical, "--peer-lag-critical"), peerSeenCrit: secs(f.peerSeenCritical, "--peer-seen-critical"),
      };
      io().exitCode = await runCheck(new CheckResult(f.stream, "stream"), f, (r) => withJetStream(f, async ({ jsm }) => {
        checkStreamInfo(await jsm.streams.info(f.stream), r, o);
      }));
    });

  connectionOptions(format(check.command("consumer")
    .description("a consumer's health: ack pending, waiting pulls, unprocessed, redeliveries, last delivery and ack (Nagios exit codes)")
    .requiredOption("--stream <name>", "the consumer's stream")
    .requiredOption("--consumer <name>", "the consumer to check")
    .option("--outstanding-ack-critical <n>", "CRITICAL with this many acks outstanding")
    .option("--waiting-critical <n>", "CRITICAL with this many waiting pulls")
    .option("--unprocessed-critical <n>", "CRITICAL with this many unprocessed messages")
    .option("--last-delivery-critical <duration>", "CRITICAL when the last delivery is this old")
    .option("--last-ack-critical <duration>", "CRITICAL when the last ack is this old")
    .option("--redelivery-critical <n>", "CRITICAL with this many redeliveries")))
    .action(async (f: ConsumerCheckFlags) => {
      const o = {
        ackCrit: num(f.outstandingAckCritical, "--outstanding-ack-critical", -1), waitingCrit: num(f.waitingCritical, "--waiting-critical", -1),
        unprocessedCrit: num(f.unprocessedCritical, "--unprocessed-critical", -1), redeliveryCrit: num(f.redeliveryCritical, "--redelivery-critical", -1),
        lastDeliveryCrit: secs(f.lastDeliveryCritical, "--last-delivery-critical"), lastAckCrit: secs(f.lastAckCritical, "--last-ack-critical"),
      };
      io().exitCode = await runCheck(new CheckResult(`${f.stream}_${f.consumer}`, "consumer"), f, (r) => withJetStream(f, async ({ jsm }) => {
        checkConsumerInfo(await jsm.consumers.info(f.stream, f.consumer), r, o);
      }));
    });

  connectionOptions(format(check.command("jetstream").alias("js")
    .description("the account's JetStream usage against its limits, and the streams' replicas (Nagios exit codes)")
    .option("--mem-warn <pct>", "WARNING above this percent of the memory limit", "75")
    .option("--mem-critical <pct>", "CRITICAL above this percent of the memory limit", "90")
    .option("--store-warn <pct>", "WARNING above this percent of the storage limit", "75")
    .option("--store-critical <pct>", "CRITICAL above this percent of the storage limit", "90")
    .option("--streams-warn <pct>", "WARNING above this percent of the streams limit", "-1")
    .option("--streams-critical <pct>", "CRITICAL above this percent of the streams limit", "-1")
    .option("--consumers-warn <pct>", "WARNING above this percent of the consumers limit", "-1")
    .option("--consumers-critical <pct>", "CRITICAL above this percent of the consumers limit", "-1")
    .option("--replicas", "check that every stream has healthy replicas (the default)")
    .option("--no-replicas", "do not check the streams' replicas")
    .option("--replica-seen-critical <duration>", "CRITICAL when a replica was last seen this long ago", "5s")
    .option("--replica-lag-critical <n>", "CRITICAL when a replica lags this many operations", "200")))
    .action(async (f: JsCheckFlags) => {
      const pct = (v: string, flag: string): number => parseInteger(v, flag, -1);
      const o = {
        memory: [pct(f.memWarn, "--mem-warn"), pct(f.memCritical, "--mem-critical")] as [number, number],
        storage: [pct(f.storeWarn, "--store-warn"), pct(f.storeCritical, "--store-critical")] as [number, number],
        streams: [pct(f.streamsWarn, "--streams-warn"), pct(f.streamsCritical, "--streams-critical")] as [number, number],
        consumers: [pct(f.consumersWarn, "--consumers-warn"), pct(f.consumersCritical, "--consumers-critical")] as [number, number],
      };
      const seen = parseDuration(f.replicaSeenCritical, "--replica-seen-critical") / 1000;
      const lag = parseInteger(f.replicaLagCritical, "--replica-lag-critical", 0);
      io().exitCode = await runCheck(new CheckResult("JetStream", "jetstream"), f, (r) => withJetStream(f, async ({ jsm }) => {
        checkAccountInfo(await jsm.getAccountInfo(), r, o);
        if (f.replicas !== false) {
          const infos: StreamInfo[] = [];
          for await (const si of jsm.streams.list()) infos.push(si);
          checkReplicas(infos, r, seen, lag);
        }
      }));
    });
}
