// Subscriptions, queue groups, fan-out, request-reply and no-responders. Socket clients and
// internal (callback) clients are both `Client`s: the router neither knows nor cares which.
// A link to another server (a route or a leafnode connection) is a Client too, with a `link`:
// its subscriptions stand for interest on the other side, and a message for any of them goes
// across once, with the queue groups the other side is to deliver it to (see Link).
import { NO_RESPONDERS } from "../../protocol/headers.js";
import { hasWildcard, subjectMatches } from "../../protocol/subject.js";
import { viewOf } from "../../protocol/bytes.js";
import type { SubjectMappings } from "../../protocol/subject-mapping.js";
import { Sublist, type MatchResult } from "./sublist.js";

/**
 * What the router needs of a connection to another server. Its subscriptions stand for the other
 * side's interest (a queue subscription's `weight` is how many members the other side has).
 */
export interface Link {
  readonly kind: "route" | "leaf";
  /**
   * A leafnode connection on which this server is the spoke (it solicited the connection to a
   * hub): what comes from it does not go on to routes, nor what comes from routes to it
   * (nats-server's isSpokeLeafNode). Absent or false on routes and on a hub's leafnode connections.
   */
  readonly spoke?: boolean;
  /**
   * The cluster the server on the other side of a leafnode connection is part of ("" or absent:
   * none): a message is not passed from one leafnode connection to another of the same cluster.
   */
  readonly remoteCluster?: string;
  /**
   * Send one message across: once, whatever number of this link's subscriptions matched.
   * `queues`: the queue groups whose chosen member is on the other side (empty: none). `shown`
   * differs from `subject` for a JetStream delivery (see Router.publish). Returns false when the
   * link could not take it (closed).
   */
  forward(account: string, subject: string, reply: string, queues: readonly string[], hdrLen: number,
    buf: Buffer, start: number, end: number, shown: string): boolean;
}

export interface Client {
  readonly cid: number;
  /** Set on a connection to another server (route, leafnode); absent on clients. */
  readonly link?: Link;
  /** Deliver own publications to own subscriptions. */
  echo: boolean;
  /** Wants a 503 status message for requests nobody receives. */
  noResponders: boolean;
  /**
   * Queue one message for this client. `buf[start, end)` is the payload (headers first when
   * hdrLen >= 0) plus CRLF; `buf` may be a read buffer, so copy the bytes to keep them. Returns
   * false when the client could not take it (closed).
   */
  deliver(sub: Subscription, subject: string, reply: string, hdrLen: number, buf: Buffer, start: number, end: number): boolean;
  /**
   * Set on a client whose subscription stands for interest elsewhere (an account's import
   * bridge, nats-server's shadow subscriptions): whether a message on `subject` would reach
   * anyone there now. Absent: a subscription is interest.
   */
  wants?(subject: string): boolean;

  // Flow control. A receiver whose pending outbound bytes pass its stall mark is `congested`;
  // whoever delivers to it is then stalled (a socket stops being read, an internal publisher is
  // told to wait) until the receiver drains or is closed.
  /** Pending outbound bytes are past the stall mark: producers feeding it should wait. */
  readonly congested: boolean;
  /** Remember `producer`; call producer.release(this) once drained or closed. */
  holdProducer(producer: Client): void;
  /** How long a producer should wait on this receiver before going on anyway (ms). */
  stallTtl(): number;
  /** A receiver this client fed is congested: stop producing until it releases us. */
  stallOn(receiver: Client): void;
  /** `receiver` drained (or closed): it no longer holds this producer. */
  release(receiver: Client): void;
}

export class Subscription {
  /** Messages delivered so far. */
  delivered = 0;
  /** Auto-unsubscribe after this many deliveries; 0 means no limit. */
  max = 0;
  closed = false;
  /** A link's queue subscription: how many members the other side has (RS+'s weight). */
  weight = 1;
  private prefix: Buffer | null = null;
  private prefixDv: DataView | null = null;

  constructor(
    readonly client: Client,
    readonly subject: string,
    readonly queue: string,
    readonly sid: string,
  ) {}

  /** `MSG <subject> <sid> `: the fixed start of a plain delivery on this subscription's own subject. */
  msgPrefix(): Buffer {
    return (this.prefix ??= Buffer.from(`MSG ${this.subject} ${this.sid} `, "latin1"));
  }

  msgPrefixView(): DataView {
    return (this.prefixDv ??= viewOf(this.msgPrefix()));
  }
}

export class Router {
  readonly sublist = new Sublist<Subscription>();
  /** Subscriptions of links (routes, leafnodes) in the sublist: while 0, routing never looks for them. */
  private linkSubs = 0;
  /**
   * Told of every change in interest: a subscription that starts (+1) or ends (-1), a link's
   * queue subscription by its weight (and its changes). Links' subscriptions included: the
   * cluster tells other servers of local interest through it. null: nobody listens.
   */
  onInterest: ((sub: Subscription, delta: number) => void) | null = null;
  /** Told of the same changes as onInterest, after it (the leafnodes listen here). */
  private interestListeners: ((sub: Subscription, delta: number) => void)[] = [];
  /** routeWithLinks' target lists, one per nesting depth, and the depth now. */
  private readonly targetLists: TargetList[] = [];
  private linkDepth = 0;
  /** The queue groups a message from a link is to be delivered to (RMSG's queue list), while it is routed. */
  private queueFilter: readonly string[] | null = null;
  private nextInternalCid = -1;
  private lastSubject = "";
  private lastResult: MatchResult<Subscription> = { psubs: [], qsubs: [] };
  private lastGen = -1;
  /** Counters for monitoring. */
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;

  /**
   * The client whose message is being routed right now (null between publishes): an internal
   * subscriber can tell who sent what it handles (JetStream's API audit names the requester).
   */
  publisher: Client | null = null;
  /**
   * The subject the message being routed was published to (null between publishes). Receivers
   * are handed the subject it is shown with, which differs for JetStream's deliveries; the
   * account bridges need the one it was routed on.
   */
  routing: string | null = null;

  /**
   * Subject prefixes whose subjects are each published once (JetStream's ack subjects carry the
   * message's sequences): matched past the caches, which they would only churn.
   */
  private readonly oneOffPrefixes: string[] = [];

  /**
   * The account's subject mappings (null: none). Applied where a message enters the account from
   * a client or a leafnode connection (connection.ts, cluster/leaf.ts), as nats-server does: what
   * routes, JetStream and internal clients publish is already mapped, or is not to be.
   */
  mappings: SubjectMappings | null = null;

  /** The subject a client's or leafnode's message on `subject` is routed on ("" drops it). */
  mapped(subject: string): string {
    const m = this.mappings;
    return m === null ? subject : m.map(subject);
  }

  /** Called when a subscription ends by reaching its max, so its owner can forget it. */
  onAutoUnsubscribe: (sub: Subscription) => void = () => {};

  /** Literal subject → callbacks for "someone subscribed to it" (JetStream push consumers). */
  private readonly interestWatchers = new Map<string, Set<() => void>>();

  /** @param account the account this router is the subject space of (routes name it). */
  constructor(readonly account = "$G") {}

  /** Also tell `fn` of every change in interest (see onInterest). Returns a stop function. */
  addInterestListener(fn: (sub: Subscription, delta: number) => void): () => void {
    this.interestListeners = [...this.interestListeners, fn];
    return () => {
      this.interestListeners = this.interestListeners.filter((f) => f !== fn);
    };
  }

  private interestChanged(sub: Subscription, delta: number): void {
    this.onInterest?.(sub, delta);
    const ls = this.interestListeners;
    for (let i = 0; i < ls.length; i++) ls[i]!(sub, delta);
  }

  subscribe(sub: Subscription): void {
    this.sublist.insert(sub);
    if (sub.client.link !== undefined) this.linkSubs++;
    this.interestChanged(sub, members(sub));
    const watchers = this.interestWatchers;
    if (watchers.size === 0) return;
    if (!hasWildcard(sub.subject)) {
      // A literal subscription covers one watched subject at most: its own (no walk per SUB).
      const cbs = watchers.get(sub.subject);
      if (cbs !== undefined) for (const cb of cbs) cb();
      return;
    }
    for (const [subject, cbs] of watchers) {
      if (subjectMatches(sub.subject, subject)) for (const cb of cbs) cb();
    }
  }

  /** Subjects under `prefix` (wire form) are used once each: never cache their matches. */
  matchUncachedUnder(prefix: string): void {
    if (!this.oneOffPrefixes.includes(prefix)) this.oneOffPrefixes.push(prefix);
  }

  private isOneOff(subject: string): boolean {
    const ps = this.oneOffPrefixes;
    for (let i = 0; i < ps.length; i++) if (subject.startsWith(ps[i]!)) return true;
    return false;
  }

  /**
   * Whether a publish to the literal `subject` (wire form) would reach anyone. `stable` is
   * false when a subscription that answered stands for interest elsewhere (Client.wants):
   * then the answer may change without this router's subscriptions changing.
   */
  interested(subject: string): { yes: boolean; stable: boolean } {
    const r = this.sublist.match(subject);
    let stable = true;
    for (const sub of r.psubs) {
      if (sub.client.wants === undefined) return { yes: true, stable };
      stable = false;
      if (sub.client.wants(subject)) return { yes: true, stable };
    }
    for (const group of r.qsubs) {
      for (const sub of group) {
        if (sub.client.wants === undefined) return { yes: true, stable };
        stable = false;
        if (sub.client.wants(subject)) return { yes: true, stable };
      }
    }
    return { yes: false, stable };
  }

  /**
   * Call the watchers of every subject matching `pattern`: interest in them may have appeared
   * elsewhere (an importing account subscribed). They check again; a call too many is harmless.
   */
  pokeWatchers(pattern: string): void {
    for (const [subject, cbs] of this.interestWatchers) {
      if (subjectMatches(pattern, subject)) for (const cb of cbs) cb();
    }
  }

  /** Call `cb` whenever a subscription matching the literal `subject` appears. Returns a stop function. */
  watchInterest(subject: string, cb: () => void): () => void {
    let set = this.interestWatchers.get(subject);
    if (set === undefined) this.interestWatchers.set(subject, (set = new Set()));
    set.add(cb);
    return () => {
      set.delete(cb);
      if (set.size === 0) this.interestWatchers.delete(subject);
    };
  }

  unsubscribe(sub: Subscription): void {
    if (sub.closed) return;
    sub.closed = true;
    this.sublist.remove(sub);
    if (sub.client.link !== undefined) this.linkSubs--;
    this.interestChanged(sub, -members(sub));
  }

  /**
   * A link's queue subscription changed weight (RS+ again with a new count). The sublist keeps
   * the same object, so its cached results see the new weight.
   */
  reweigh(sub: Subscription, weight: number): void {
    const was = sub.weight;
    sub.weight = weight;
    if (!sub.closed && weight !== was) this.interestChanged(sub, weight - was);
  }

  /**
   * Route a message that came over a link. `queues` (RMSG's list) names the queue groups this
   * server is to deliver it to; null: none; ANY_QUEUE_GROUP: any, as for a client's publish.
   */
  publishFromLink(from: Client, subject: string, reply: string, queues: readonly string[] | null, hdrLen: number,
    buf: Buffer, start: number, end: number, shown: string = subject): boolean {
    const outerQ = this.queueFilter;
    this.queueFilter = queues;
    try {
      return this.publish(from, subject, reply, hdrLen, buf, start, end, shown);
    } finally {
      this.queueFilter = outerQ;
    }
  }

  /**
   * Route one message from `from`. `buf[start, end)` is payload plus CRLF (headers first when
   * hdrLen >= 0). Returns whether anyone received it. Receivers see `shown` as the message's
   * subject: JetStream routes a stored message on a deliver subject but shows its own subject.
   */
  publish(from: Client, subject: string, reply: string, hdrLen: number, buf: Buffer, start: number, end: number,
    shown: string = subject, oneOff = false): boolean {
    const outer = this.publisher;
    const outerSubject = this.routing;
    this.publisher = from;
    this.routing = subject;
    const delivered = this.route(from, subject, reply, hdrLen, buf, start, end, shown, oneOff);
    this.publisher = outer;
    this.routing = outerSubject;
    return delivered;
  }

  private route(from: Client, subject: string, reply: string, hdrLen: number, buf: Buffer, start: number, end: number,
    shown: string, oneOff: boolean): boolean {
    this.inMsgs++;
    this.inBytes += end - start - 2;
    // One-entry cache in front of the sublist's: publishers tend to repeat a subject, and the
    // parser hands back the very same string when they do. A subject used once (a reply to an
    // inbox) would only evict useful entries from both caches: it is matched uncached.
    let r: MatchResult<Subscription>;
    if (oneOff) {
      r = this.sublist.matchUncached(subject);
    } else if (subject === this.lastSubject && this.lastGen === this.sublist.genId) {
      r = this.lastResult;
    } else if (this.oneOffPrefixes.length !== 0 && this.isOneOff(subject)) {
      r = this.sublist.matchUncached(subject);
    } else {
      r = this.sublist.match(subject);
      this.lastSubject = subject;
      this.lastResult = r;
      this.lastGen = this.sublist.genId;
    }
    let delivered = false;
    const psubs = r.psubs;
    if (this.linkSubs === 0) {
      for (let i = 0; i < psubs.length; i++) {
        if (this.deliverTo(from, psubs[i]!, shown, reply, hdrLen, buf, start, end)) delivered = true;
      }
      const qsubs = r.qsubs;
      for (let g = 0; g < qsubs.length; g++) {
        const group = qsubs[g]!;
        const n = group.length;
        // Start at a random member; move on to the next when one cannot take it.
        const first = n === 1 ? 0 : (Math.random() * n) | 0;
        for (let k = 0; k < n; k++) {
          if (this.deliverTo(from, group[(first + k) % n]!, shown, reply, hdrLen, buf, start, end)) {
            delivered = true;
            break;
          }
        }
      }
    } else {
      delivered = this.routeWithLinks(from, r, subject, reply, hdrLen, buf, start, end, shown);
    }
    if (!delivered && reply.length !== 0 && from.noResponders) this.noResponders(from, reply);
    return delivered;
  }

  /**
   * Routing while links hold subscriptions. As nats-server: a message goes to each link once
   * (with the queue groups it is to serve there); a message from a route never goes to another
   * route (the mesh is full); a queue group picks one member in the whole cluster, each route
   * counting as many members as it has (its weight), except that a message from a route picks
   * a local member (it was sent here for one). A leafnode's queue members are a fallback: a
   * group sends a message across a leafnode connection only when no member here or across a
   * route could take it (nats-server 2.9). See mayForward for which link a message may cross to.
   */
  private routeWithLinks(from: Client, r: MatchResult<Subscription>, subject: string, reply: string, hdrLen: number,
    buf: Buffer, start: number, end: number, shown: string): boolean {
    // The links this message goes to, gathered first and sent once each at the end. One list
    // per nesting depth (a delivery may publish in turn), reused from message to message.
    const depth = this.linkDepth++;
    try {
      return this.routeWithLinksAt(from, r, subject, reply, hdrLen, buf, start, end, shown, this.targetLists[depth] ??= new TargetList());
    } finally {
      this.linkDepth--;
    }
  }

  private routeWithLinksAt(from: Client, r: MatchResult<Subscription>, subject: string, reply: string, hdrLen: number,
    buf: Buffer, start: number, end: number, shown: string, tl: TargetList): boolean {
    const fromLink = from.link;
    let delivered = false;
    tl.reset();
    const psubs = r.psubs;
    for (let i = 0; i < psubs.length; i++) {
      const sub = psubs[i]!;
      const link = sub.client.link;
      if (link !== undefined) {
        if (mayForward(from, fromLink, sub.client, link, subject)) tl.add(sub, "");
        continue;
      }
      if (this.deliverTo(from, sub, shown, reply, hdrLen, buf, start, end)) delivered = true;
    }
    const qf = this.queueFilter === ANY_QUEUE_GROUP ? null : this.queueFilter;
    // A message from a link serves only the queue groups it names (or, mapped here, any).
    const qsubs = fromLink !== undefined && qf === null && this.queueFilter !== ANY_QUEUE_GROUP ? NO_GROUPS : r.qsubs;
    for (let g = 0; g < qsubs.length; g++) {
      const group = qsubs[g]!;
      const n = group.length;
      if (n === 0) continue;
      if (qf !== null && !qf.includes(group[0]!.queue)) continue;
      if (fromLink !== undefined && fromLink.kind === "route") {
        // Sent here for a member of ours: a local one, else (none could take it) a leaf's.
        let spare: Subscription | null = null;
        const first = n === 1 ? 0 : (Math.random() * n) | 0;
        let done = false;
        for (let k = 0; k < n && !done; k++) {
          const sub = group[(first + k) % n]!;
          const link = sub.client.link;
          if (link !== undefined) {
            if (link.kind === "leaf" && spare === null && sub.client !== from) spare = sub;
            continue;
          }
          if (this.deliverTo(from, sub, shown, reply, hdrLen, buf, start, end)) {
            delivered = true;
            done = true;
          }
        }
        if (!done && spare !== null) tl.add(spare, spare.queue);
        continue;
      }
      // From a client (or a leafnode, for the groups it names): one member of the whole
      // cluster, routes weighted by their member counts; a leafnode's members only when no
      // other could take it.
      let total = 0;
      for (let k = 0; k < n; k++) total += pickWeight(group[k]!);
      let pick = Math.random() * total;
      let first = 0;
      for (; first < n - 1; first++) {
        pick -= pickWeight(group[first]!);
        if (pick < 0) break;
      }
      let spare: Subscription | null = null;
      let done = false;
      for (let k = 0; k < n; k++) {
        const sub = group[(first + k) % n]!;
        const link = sub.client.link;
        if (link !== undefined) {
          if (sub.client === from) continue;
          if (link.kind === "leaf") {
            if (spare === null && mayForward(from, fromLink, sub.client, link, subject)) spare = sub;
            continue;
          }
          tl.add(sub, sub.queue);
          done = true;
          break;
        }
        if (this.deliverTo(from, sub, shown, reply, hdrLen, buf, start, end)) {
          delivered = true;
          done = true;
          break;
        }
      }
      if (!done && spare !== null) tl.add(spare, spare.queue);
    }
    for (let t = 0; t < tl.size; t++) {
      const c = tl.subs[t]!.client;
      if (c.link!.forward(this.account, subject, reply, tl.queuesOf(t), hdrLen, buf, start, end, shown)) {
        delivered = true;
        this.countOut(end - start);
        if (c.congested) from.stallOn(c);
      }
    }
    return delivered;
  }

  private deliverTo(from: Client, sub: Subscription, subject: string, reply: string, hdrLen: number,
    buf: Buffer, start: number, end: number): boolean {
    const c = sub.client;
    if (c === from && !from.echo) return false;
    if (sub.closed) return false;
    if (sub.max > 0) {
      const nm = sub.delivered + 1;
      if (nm > sub.max) {
        this.autoUnsubscribe(sub);
        return false;
      }
      sub.delivered = nm;
      const ok = c.deliver(sub, subject, reply, hdrLen, buf, start, end);
      if (nm === sub.max) this.autoUnsubscribe(sub);
      if (ok) this.countOut(end - start);
      if (c.congested) from.stallOn(c);
      return ok;
    }
    sub.delivered++;
    const ok = c.deliver(sub, subject, reply, hdrLen, buf, start, end);
    if (ok) this.countOut(end - start);
    if (c.congested) from.stallOn(c);
    return ok;
  }

  private countOut(len: number): void {
    this.outMsgs++;
    this.outBytes += len - 2;
  }

  private autoUnsubscribe(sub: Subscription): void {
    this.unsubscribe(sub);
    this.onAutoUnsubscribe(sub);
  }

  /** Tell a requester nobody is listening: a 503 on the requester's own reply subscription. */
  private noResponders(from: Client, reply: string): void {
    const r = this.sublist.match(reply);
    for (const sub of r.psubs) {
      if (sub.client === from) {
        from.deliver(sub, reply, "", NO_RESPONDERS.length, NO_RESPONDERS_MSG, 0, NO_RESPONDERS_MSG.length);
        return;
      }
    }
  }

  /** The next cid of an internal client (negative: monitoring lists no connection for it). */
  takeInternalCid(): number {
    return this.nextInternalCid--;
  }
}

/**
 * publishFromLink's `queues` for a leafnode message whose subject a mapping changed here: the
 * other side could not name our queue groups for it, so each may take it (nats-server's
 * pmrIgnoreEmptyQueueFilter for mapped leafnode messages).
 */
export const ANY_QUEUE_GROUP: readonly string[] = Object.freeze([]);
const NO_GROUPS: readonly (readonly Subscription[])[] = [];
const NO_QUEUES: readonly string[] = [];

/** The links one message goes to (each once), with the queue groups it serves on each. */
class TargetList {
  readonly subs: Subscription[] = [];
  private readonly queues: string[][] = [];
  size = 0;

  reset(): void {
    this.size = 0;
  }

  add(sub: Subscription, queue: string): void {
    const c = sub.client;
    for (let t = 0; t < this.size; t++) {
      if (this.subs[t]!.client === c) {
        if (queue !== "") this.queues[t]!.push(queue);
        return;
      }
    }
    const t = this.size++;
    this.subs[t] = sub;
    const q = (this.queues[t] ??= []);
    if (q.length !== 0) q.length = 0;
    if (queue !== "") q.push(queue);
  }

  queuesOf(t: number): readonly string[] {
    const q = this.queues[t]!;
    return q.length === 0 ? NO_QUEUES : q;
  }
}

/** How many queue members a subscription stands for: a link's, its weight; any other, one. */
function members(sub: Subscription): number {
  return sub.queue !== "" && sub.client.link !== undefined ? sub.weight : 1;
}

/** A queue member's share when a group picks one: a route's member count; a leafnode's none (a fallback). */
function pickWeight(sub: Subscription): number {
  const link = sub.client.link;
  if (link === undefined) return 1;
  return link.kind === "leaf" ? 0 : sub.weight;
}

/**
 * Whether a message from `from` may cross to `to`'s link (nats-server's processMsgResults). Never
 * back where it came from; never from one route to another (every server has a route to every
 * other). To a route: not what came from a hub (on a connection where this server is the spoke).
 * To a leafnode: from a route, only where this server is the hub (a hub of ours hears it from its
 * own server), except service import replies; from another leafnode, not within one cluster.
 */
function mayForward(from: Client, fromLink: Link | undefined, to: Client, link: Link, subject: string): boolean {
  if (from === to) return false;
  if (fromLink === undefined) return true;
  if (link.kind === "route") return fromLink.kind !== "route" && fromLink.spoke !== true;
  if (fromLink.kind === "route") return link.spoke !== true || subject.startsWith("_R_.");
  const rc = fromLink.remoteCluster ?? "";
  return rc === "" || rc !== (link.remoteCluster ?? "");
}

const CRLF = Buffer.from("\r\n");
const NO_RESPONDERS_MSG = Buffer.concat([NO_RESPONDERS, CRLF]);
