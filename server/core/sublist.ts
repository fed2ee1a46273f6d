// The subject trie. Each level holds literal children in a Map plus separate `*` and `>`
// slots, so a match is a walk of at most (tokens × 3) lookups. Results are cached per literal
// subject in a bounded Map; a change drops only the cached subjects it can affect. While no
// subscription has a wildcard, a match is one lookup of the whole subject in an index of
// literal subscriptions, whose nodes keep their own result: no cache to fill or overflow.
import { hasWildcard, subjectMatches } from "../../protocol/subject.js";

export interface SublistEntry {
  readonly subject: string;
  /** "" for a plain subscription. */
  readonly queue: string;
}

export interface MatchResult<S> {
  /** Plain subscriptions: every one gets the message. */
  readonly psubs: readonly S[];
  /** Queue subscriptions grouped by queue name: one of each group gets it. */
  readonly qsubs: readonly (readonly S[])[];
}

// Sets and child levels are made only when needed: most nodes are leaves with one subscription
// or inner nodes with none, and an empty Set or Map costs more than the node itself.
class Node<S> {
  next: Level<S> | null = null;
  psubs: Set<S> | null = null;
  qsubs: Map<string, Set<S>> | null = null;
  /** This node's own subscriptions as a match result, for the literal index; null when stale. */
  result: MatchResult<S> | null = null;

  hasSubs(): boolean {
    return (this.psubs !== null && this.psubs.size !== 0) || (this.qsubs !== null && this.qsubs.size !== 0);
  }

  isEmpty(): boolean {
    return !this.hasSubs() && (this.next === null || this.next.isEmpty());
  }
}

class Level<S> {
  nodes = new Map<string, Node<S>>();
  pwc: Node<S> | null = null;
  fwc: Node<S> | null = null;

  isEmpty(): boolean {
    return this.nodes.size === 0 && this.pwc === null && this.fwc === null;
  }
}

const DOT = 46;

/** What a trie walk gathers. */
interface Acc<S> {
  psubs: S[];
  groups: Map<string, S[]> | null;
}

function collect<S>(n: Node<S>, acc: Acc<S>): void {
  if (n.psubs !== null) for (const s of n.psubs) acc.psubs.push(s);
  const qsubs = n.qsubs;
  if (qsubs !== null && qsubs.size > 0) {
    const groups = acc.groups ??= new Map();
    for (const [q, set] of qsubs) {
      let g = groups.get(q);
      if (!g) {
        g = [];
        groups.set(q, g);
      }
      for (const s of set) g.push(s);
    }
  }
}

/** Match the token of `subject` starting at `start` (and those after it) at `level`. */
function walk<S>(level: Level<S>, subject: string, start: number, acc: Acc<S>): void {
  if (level.fwc !== null) collect(level.fwc, acc);
  const dot = subject.indexOf(".", start);
  const last = dot < 0;
  const end = last ? subject.length : dot;
  const pwc = level.pwc;
  if (pwc !== null) {
    if (last) collect(pwc, acc);
    else if (pwc.next !== null) walk(pwc.next, subject, end + 1, acc);
  }
  if (level.nodes.size === 0) return;
  const lit = level.nodes.get(start === 0 && last ? subject : subject.slice(start, end));
  if (lit !== undefined) {
    if (last) collect(lit, acc);
    else if (lit.next !== null) walk(lit.next, subject, end + 1, acc);
  }
}

/** The match result of one node's subscriptions. */
function resultOf<S>(n: Node<S>): MatchResult<S> {
  const acc: Acc<S> = { psubs: [], groups: null };
  collect(n, acc);
  const g = acc.groups;
  if (acc.psubs.length === 0 && g === null) return EMPTY;
  return { psubs: acc.psubs, qsubs: g === null ? [] : [...g.values()] };
}

const EMPTY: MatchResult<never> = Object.freeze({ psubs: Object.freeze([]), qsubs: Object.freeze([]) });

export class Sublist<S extends SublistEntry> {
  private readonly root = new Level<S>();
  private readonly cache = new Map<string, MatchResult<S>>();
  /** Literal subscription subjects to their nodes (the nodes that have subscriptions). */
  private readonly literals = new Map<string, Node<S>>();
  /** Subscriptions with a `*` or `>` token: while there are none, match uses `literals`. */
  private wildcards = 0;
  private count = 0;
  /** Subscriptions ever inserted / removed (subscribe path only; /subsz reports them). */
  inserts = 0;
  removes = 0;
  /** Bumped on every change; lets callers keep their own caches honest. */
  genId = 0;

  /**
   * `cacheMax` bounds the result cache. The default holds tens of thousands of hot subjects: at
   * 4096, 10k subjects published round-robin missed on every message and walked the trie.
   */
  constructor(private readonly cacheMax = 32768) {}

  get size(): number {
    return this.count;
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  /** Distinct literal subjects with subscriptions (the literal index must not outlive them). */
  get literalSubjects(): number {
    return this.literals.size;
  }

  /** Insert a subscription whose subject is already known to be valid. */
  insert(sub: S): void {
    const tokens = sub.subject.split(".");
    let level = this.root;
    let node: Node<S> | null = null;
    let wild = false;
    const last = tokens.length - 1;
    for (let i = 0; i <= last; i++) {
      const t = tokens[i]!;
      if (t === "*") {
        wild = true;
        node = level.pwc ??= new Node<S>();
      } else if (t === ">") {
        wild = true;
        node = level.fwc ??= new Node<S>();
      } else {
        node = level.nodes.get(t) ?? null;
        if (node === null) {
          node = new Node<S>();
          level.nodes.set(t, node);
        }
      }
      if (i < last) level = node.next ??= new Level<S>();
    }
    // tokens is never empty, so node is set.
    const n = node!;
    if (sub.queue === "") {
      (n.psubs ??= new Set()).add(sub);
    } else {
      const qsubs = n.qsubs ??= new Map();
      let group = qsubs.get(sub.queue);
      if (!group) {
        group = new Set();
        qsubs.set(sub.queue, group);
      }
      group.add(sub);
    }
    n.result = null;
    if (wild) this.wildcards++;
    else this.literals.set(sub.subject, n);
    this.count++;
    this.inserts++;
    this.changed(sub.subject);
  }

  /** Remove a subscription; returns false if it was not there. */
  remove(sub: S): boolean {
    const tokens = sub.subject.split(".");
    const path: [Level<S>, string, Node<S>][] = [];
    let level = this.root;
    let node: Node<S> | null = null;
    const last = tokens.length - 1;
    for (let i = 0; i <= last; i++) {
      const t = tokens[i]!;
      node = t === "*" ? level.pwc : t === ">" ? level.fwc : level.nodes.get(t) ?? null;
      if (node === null) return false;
      path.push([level, t, node]);
      if (i < last) {
        if (node.next === null) return false;
        level = node.next;
      }
    }
    const n = node!;
    let removed: boolean;
    if (sub.queue === "") {
      removed = n.psubs !== null && n.psubs.delete(sub);
      if (n.psubs !== null && n.psubs.size === 0) n.psubs = null;
    } else {
      const group = n.qsubs?.get(sub.queue);
      removed = group !== undefined && group.delete(sub);
      if (group !== undefined && group.size === 0) n.qsubs!.delete(sub.queue);
      if (n.qsubs !== null && n.qsubs.size === 0) n.qsubs = null;
    }
    if (!removed) return false;
    n.result = null;
    if (hasWildcard(sub.subject)) {
      // Back to the literal index: the cache would only hold memory now.
      if (--this.wildcards === 0) this.cache.clear();
    } else if (!n.hasSubs()) {
      this.literals.delete(sub.subject);
    }
    this.count--;
    this.removes++;
    // Prune nodes left empty, deepest first, and the levels they leave empty.
    for (let i = path.length - 1; i >= 0; i--) {
      const [lvl, t, nd] = path[i]!;
      if (!nd.isEmpty()) break;
      if (t === "*") lvl.pwc = null;
      else if (t === ">") lvl.fwc = null;
      else lvl.nodes.delete(t);
      if (i > 0 && lvl.isEmpty()) path[i - 1]![2].next = null;
    }
    this.changed(sub.subject);
    return true;
  }

  match(subject: string): MatchResult<S> {
    if (this.wildcards === 0) {
      // Only literal subscriptions: the subject's own node, if any, is the whole answer.
      const node = this.literals.get(subject);
      if (node === undefined) return EMPTY;
      return node.result ??= resultOf(node);
    }
    const cached = this.cache.get(subject);
    if (cached !== undefined) return cached;
    const r = this.matchUncached(subject);
    if (this.cache.size >= this.cacheMax) this.shrinkCache();
    this.cache.set(subject, r);
    return r;
  }

  /** Walk the trie without touching the cache. */
  matchUncached(subject: string): MatchResult<S> {
    // Empty tokens never match anything (nats-server returns an empty result).
    const n = subject.length;
    if (n === 0 || subject.charCodeAt(0) === DOT || subject.charCodeAt(n - 1) === DOT || subject.includes("..")) return EMPTY;
    const acc: Acc<S> = { psubs: [], groups: null };
    walk(this.root, subject, 0, acc);
    const g = acc.groups;
    if (acc.psubs.length === 0 && g === null) return EMPTY;
    return { psubs: acc.psubs, qsubs: g === null ? [] : [...g.values()] };
  }

  /** Fan-out of the cached results (nats-server's max_fanout / avg_fanout), walked on request. */
  cacheFanout(): { entries: number; max: number; total: number } {
    let max = 0, total = 0;
    for (const r of this.cache.values()) {
      const n = r.psubs.length + r.qsubs.length;
      if (n > max) max = n;
      total += n;
    }
    return { entries: this.cache.size, max, total };
  }

  /** Every subscription, in no particular order. */
  all(): S[] {
    const out: S[] = [];
    const visit = (level: Level<S>): void => {
      const nodes = [...level.nodes.values()];
      if (level.pwc) nodes.push(level.pwc);
      if (level.fwc) nodes.push(level.fwc);
      for (const n of nodes) {
        if (n.psubs) for (const s of n.psubs) out.push(s);
        if (n.qsubs) for (const g of n.qsubs.values()) for (const s of g) out.push(s);
        if (n.next) visit(n.next);
      }
    };
    visit(this.root);
    return out;
  }

  private changed(subject: string): void {
    this.genId++;
    if (this.cache.size === 0) return;
    if (!hasWildcard(subject)) {
      this.cache.delete(subject);
      return;
    }
    for (const key of this.cache.keys()) {
      if (subjectMatches(subject, key)) this.cache.delete(key);
    }
  }

  private shrinkCache(): void {
    // Drop the oldest quarter: Map iterates in insertion order.
    let drop = this.cacheMax >> 2;
    for (const key of this.cache.keys()) {
      this.cache.delete(key);
      if (--drop <= 0) break;
    }
  }
}
