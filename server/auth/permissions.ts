// Per-user publish/subscribe permissions, as nats-server applies them: an allow list (absent:
// everything) narrowed by a deny list. Checked on PUB and SUB, and on delivery to wildcard
// subscriptions that may cover a denied subject. Subscribe entries may name a queue group
// (`"foo.> workers"`); `allowResponses` lets a user answer requests delivered to it.

import { tokensMatch } from "../../protocol/subject.js";

/** `allow` / `deny` subject patterns (wildcards allowed); an absent list does not restrict. */
export interface SubjectPermission {
  allow?: string[];
  deny?: string[];
}

/**
 * nats-server's `allow_responses`: a user may publish to the reply subject of a message
 * delivered to it, `max` times within `expires` ms of the delivery, whatever its publish list
 * says. As in nats-server, 0 means the default (1 response, 2 minutes) and a negative value no
 * limit.
 */
export interface ResponsePermission {
  max: number;
  expires: number;
}

/** nats-server's defaults for `allow_responses: true`: one response, within two minutes. */
export const DEFAULT_RESPONSE_PERMISSION: Readonly<ResponsePermission> = { max: 1, expires: 2 * 60_000 };

/** nats-server's `permissions { publish, subscribe, allow_responses }` of one user. */
export interface Permissions {
  publish?: SubjectPermission;
  subscribe?: SubjectPermission;
  /** Setting this without a publish allow list makes publishing deny-all but responses. */
  allowResponses?: ResponsePermission;
}

/**
 * Whether `pattern` (an allow/deny entry, maybe with `*` and `>`) covers `subject`. The subject
 * is taken literally, as nats-server matches it through a sublist of the patterns: a SUB to
 * `foo.*` is covered by `foo.*` or `foo.>`, not by `foo.bar`.
 */
export function patternCovers(pattern: string, subject: string): boolean {
  return hasEmptyToken(subject) ? false : tokensMatch(pattern.split("."), subject);
}

/** nats-server's sublist matches nothing for a subject with an empty token ("a..b", "a."). */
function hasEmptyToken(s: string): boolean {
  const n = s.length;
  return n === 0 || s.charCodeAt(0) === 46 || s.charCodeAt(n - 1) === 46 || s.includes("..");
}

/** A subscribe entry split into its subject and optional queue group ("" for none). */
interface SubEntry {
  readonly subject: string;
  readonly queue: string;
  /** The subject's tokens. */
  readonly tokens: Pattern;
}

/** `"subject"` or `"subject queue"` (any whitespace between), as nats-server splits them. */
export function splitSubjectQueue(entry: string): SubEntry {
  const parts = entry.trim().split(/\s+/);
  const subject = parts[0] ?? "";
  return { subject, queue: parts[1] ?? "", tokens: subject.split(".") };
}

type Pattern = readonly string[];
const compile = (patterns: readonly string[]): Pattern[] => patterns.map((p) => p.split("."));

function anyCovers(patterns: readonly Pattern[], subject: string): boolean {
  if (hasEmptyToken(subject)) return false;
  for (const p of patterns) if (tokensMatch(p, subject)) return true;
  return false;
}

const hasWildcard = (s: string): boolean => s.split(".").some((t) => t === "*" || t === ">");

/**
 * nats-server's queueMatches: the queue is named literally by one of the entries, or matched by
 * an entry whose queue is itself a wildcard pattern (`"foo v1.*"`).
 */
function queueMatches(queue: string, entries: readonly SubEntry[]): boolean {
  for (const e of entries) if (queue === e.queue || (hasWildcard(e.queue) && patternCovers(e.queue, queue))) return true;
  return false;
}

/**
 * nats-server's canSubscribe against one list: the plain entries covering the subject decide,
 * unless this is a queue subscription and entries with a queue cover the subject, in which
 * case whether the queue is among them decides. Returns whether the list matched.
 */
function listMatches(entries: readonly SubEntry[], subject: string, queue: string): boolean {
  if (hasEmptyToken(subject)) return false;
  let plain = false;
  let queued: SubEntry[] | null = null;
  for (const e of entries) {
    if (!tokensMatch(e.tokens, subject)) continue;
    if (e.queue === "") plain = true;
    else (queued ??= []).push(e);
  }
  if (queue !== "" && queued !== null) return queueMatches(queue, queued);
  return plain;
}

/** nats-server bounds its per-client permission cache the same way (maxPermCacheSize). */
const CACHE_MAX = 128;
/** nats-server prunes its reply-permission map after this many new replies, or every second. */
const REPLY_PRUNE_COUNT = 4096;
const REPLY_PRUNE_MS = 1000;
/**
 * A hard bound nats-server lacks: a flood of requests with distinct reply subjects inside
 * `expires` would otherwise grow the map without limit. Past it the oldest grants go first.
 */
const REPLY_MAX = 65_536;

/** A reply subject this connection was handed: when, and how many responses it sent. */
interface ReplyGrant {
  at: number;
  sent: number;
}

/** One connection's view of its user's permissions, with that connection's own caches. */
export class PermissionChecker {
  private readonly pubAllow: readonly Pattern[] | null;
  private readonly pubDeny: readonly Pattern[] | null;
  private readonly subAllow: readonly SubEntry[] | null;
  private readonly subDeny: readonly SubEntry[] | null;
  /** Plain subscribe deny subjects: deliveries to wildcard subscriptions are filtered by them. */
  private readonly deliverDeny: readonly Pattern[];
  private readonly pubCache = new Map<string, boolean>();
  private readonly deliverCache = new Map<string, boolean>();
  private readonly responses: ResponsePermission | null;
  private readonly replies: Map<string, ReplyGrant> | null;
  private repliesSincePrune = 0;
  private lastPrune = 0;
  /** A subscribe deny list exists: deliveries to wildcard subscriptions must be checked. */
  readonly filtersDeliveries: boolean;
  /** Reply subjects of deliveries must be noted (allow_responses). */
  readonly tracksReplies: boolean;
  /** False when publishing is not restricted at all: the PUB check can be skipped. */
  readonly checksPublish: boolean;

  constructor(perms: Permissions, private readonly now: () => number = Date.now) {
    const rp = perms.allowResponses;
    // nats-server's validateResponsePermissions: a 0 is the default.
    this.responses = rp === undefined ? null : {
      max: rp.max === 0 ? DEFAULT_RESPONSE_PERMISSION.max : rp.max,
      expires: rp.expires === 0 ? DEFAULT_RESPONSE_PERMISSION.expires : rp.expires,
    };
    // As nats-server does: allow_responses without a publish allow list turns the blanket
    // allow off, so only responses may be published.
    const pubAllow = perms.publish?.allow ?? (this.responses !== null ? [] : undefined);
    this.pubAllow = pubAllow === undefined ? null : compile(pubAllow);
    this.pubDeny = (perms.publish?.deny?.length ?? 0) > 0 ? compile(perms.publish!.deny!) : null;
    // An empty subscribe allow list restricts nothing in nats-server (an empty publish one does).
    const sa = perms.subscribe?.allow;
    this.subAllow = sa !== undefined && sa.length > 0 ? sa.map(splitSubjectQueue) : null;
    const sd = perms.subscribe?.deny;
    this.subDeny = sd !== undefined && sd.length > 0 ? sd.map(splitSubjectQueue) : null;
    this.deliverDeny = (this.subDeny ?? []).filter((e) => e.queue === "").map((e) => e.tokens);
    this.filtersDeliveries = this.deliverDeny.length > 0;
    this.replies = this.responses !== null ? new Map() : null;
    this.tracksReplies = this.replies !== null;
    this.checksPublish = this.pubAllow !== null || this.pubDeny !== null;
  }

  /** Whether a PUB to `subject` is allowed; counts a response against its grant. */
  canPublish(subject: string): boolean {
    if (!this.checksPublish || this.staticPublish(subject)) return true;
    return this.replies !== null && this.useGrant(subject);
  }

  /** The publish lists alone, cached (the response grants change, so they are not cached). */
  private staticPublish(subject: string): boolean {
    const hit = this.pubCache.get(subject);
    if (hit !== undefined) return hit;
    let ok = this.pubAllow === null || anyCovers(this.pubAllow, subject);
    if (ok && this.pubDeny !== null) ok = !anyCovers(this.pubDeny, subject);
    // Dropping everything on overflow keeps this O(1); the lists are short, recomputing is cheap.
    if (this.pubCache.size >= CACHE_MAX) this.pubCache.clear();
    this.pubCache.set(subject, ok);
    return ok;
  }

  private useGrant(subject: string): boolean {
    const g = this.replies!.get(subject);
    if (g === undefined) return false;
    const r = this.responses!;
    g.sent++;
    if ((r.max > 0 && g.sent > r.max) || (r.expires > 0 && this.now() - g.at > r.expires)) {
      this.replies!.delete(subject);
      return false;
    }
    return true;
  }

  /** A message with reply subject `reply` was delivered to this connection (allow_responses). */
  noteReply(reply: string): void {
    const replies = this.replies;
    if (replies === null || this.staticPublish(reply)) return;
    const now = this.now();
    // Re-set to move it to the end: the map's order is then the age order the hard bound uses.
    replies.delete(reply);
    replies.set(reply, { at: now, sent: 0 });
    if (++this.repliesSincePrune > REPLY_PRUNE_COUNT || now - this.lastPrune > REPLY_PRUNE_MS) this.pruneReplies(now);
    if (replies.size > REPLY_MAX) replies.delete(replies.keys().next().value!);
  }

  private pruneReplies(now: number): void {
    const r = this.responses!;
    for (const [k, g] of this.replies!) {
      if ((r.max > 0 && g.sent >= r.max) || (r.expires > 0 && now - g.at > r.expires)) this.replies!.delete(k);
    }
    this.repliesSincePrune = 0;
    this.lastPrune = now;
  }

  /** Reply grants held now (for tests and monitoring). */
  get pendingReplies(): number {
    return this.replies?.size ?? 0;
  }

  /** nats-server's canSubscribe, queue entries included. `queue` is "" for a plain SUB. */
  canSubscribe(subject: string, queue = ""): boolean {
    if (this.subAllow !== null && !listMatches(this.subAllow, subject, queue)) return false;
    return this.subDeny === null || !listMatches(this.subDeny, subject, queue);
  }

  /** A message on `subject` may reach a subscription (a wildcard one may cover a denied subject). */
  canDeliver(subject: string): boolean {
    if (!this.filtersDeliveries) return true;
    const hit = this.deliverCache.get(subject);
    if (hit !== undefined) return hit;
    const ok = !anyCovers(this.deliverDeny, subject);
    if (this.deliverCache.size >= CACHE_MAX) this.deliverCache.clear();
    this.deliverCache.set(subject, ok);
    return ok;
  }
}
