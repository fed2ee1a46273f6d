// Tested by test/protocol/subject-transform.test.ts.
// An account's subject mappings, as nats-server keeps them (accounts.go AddWeightedMappings and
// selectMappedSubject): each source subject has weighted destinations (weights add up to at most
// 100; what is left goes to the source itself unless the source is listed, in which case the rest
// is dropped), optionally per cluster. A published subject takes the first mapping whose source it
// matches and one destination drawn by weight.
import { isValidSubject } from "./subject.js";
import { BAD_SUBJECT, MappingError, SubjectTransform, tokensMatchPattern, validateMappingDestination } from "./subject-transform.js";

export interface MapDestination {
  subject: string;
  /** Percent, 0-100. */
  weight: number;
  /** Only on servers of this cluster (nats-server's `cluster` of a destination). */
  cluster?: string;
}

interface Weighted {
  tr: SubjectTransform;
  /** Cumulative weight: chosen when the draw (0-99) is below it. */
  upTo: number;
}

export interface Mapping {
  src: string;
  srcTokens: string[];
  wildcard: boolean;
  dests: Weighted[];
  byCluster: Map<string, Weighted[]>;
}

/** `*` tokens numbered as destination placeholders: foo.*.* → foo.$1.$2 (nats-server's transformTokenize). */
function tokenize(subject: string): string {
  let i = 1;
  return subject.split(".").map((t) => (t === "*" ? `$${i++}` : t)).join(".");
}

/** Build one mapping, with nats-server's checks and error texts (AddWeightedMappings). */
export function compileMapping(src: string, dests: readonly MapDestination[]): Mapping {
  if (!isValidSubject(src)) throw new MappingError(BAD_SUBJECT);
  const srcTokens = src.split(".");
  const wildcard = srcTokens.some((t) => t === "*" || t === ">");
  const seen = new Set<string>();
  const plain: { tr: SubjectTransform; weight: number }[] = [];
  const byCluster = new Map<string, { tr: SubjectTransform; weight: number }[]>();
  let total = 0;
  for (const d of dests) {
    if (seen.has(d.subject)) throw new MappingError(`duplicate entry for ${JSON.stringify(d.subject)}`);
    seen.add(d.subject);
    if (d.weight > 100) throw new MappingError("individual weights need to be <= 100");
    total += d.weight;
    if (total > 100) throw new MappingError("total weight needs to be <= 100");
    validateMappingDestination(d.subject);
    const tr = SubjectTransform.create(src, d.subject);
    if (d.cluster === undefined || d.cluster === "") plain.push({ tr, weight: d.weight });
    else {
      let list = byCluster.get(d.cluster);
      if (list === undefined) byCluster.set(d.cluster, (list = []));
      list.push({ tr, weight: d.weight });
    }
  }
  const finish = (list: { tr: SubjectTransform; weight: number }[]): Weighted[] => {
    let sum = 0;
    for (const d of list) sum += d.weight;
    // The rest of 100 goes to the source unchanged, unless the source is listed (then it is dropped).
    if (sum !== 100 && !seen.has(src)) {
      const tr = SubjectTransform.create(src, wildcard ? tokenize(src) : src);
      list.push({ tr, weight: list.length === 0 ? 100 : 100 - sum });
    }
    // Stable sort by weight, then cumulative (nats-server's sort.Slice is not stable; equal weights
    // are equally likely either way).
    list.sort((a, b) => a.weight - b.weight);
    let upTo = 0;
    return list.map((d) => ({ tr: d.tr, upTo: (upTo += d.weight) }));
  };
  const cluster = new Map<string, Weighted[]>();
  for (const [name, list] of byCluster) cluster.set(name, finish(list));
  return { src, srcTokens, wildcard, dests: finish(plain), byCluster: cluster };
}

const noCluster = (): string => "";

/** Mapped subjects kept for literal sources and single destinations; cleared when full. */
const CACHE_MAX = 4096;

/** An account's mappings, in the order they were added; a source added again replaces its entry. */
export class SubjectMappings {
  private readonly list: Mapping[] = [];
  private readonly cache = new Map<string, string | null>();

  /**
   * @param cluster the cluster this server is in now ("" none): picks cluster-scoped destinations.
   * @param random a draw in [0, 1) (Math.random unless a test fixes it).
   */
  constructor(private readonly cluster: () => string = noCluster, private readonly random: () => number = Math.random) {}

  /** Add (or replace) the mapping of `src`. Throws MappingError with nats-server's text. */
  add(src: string, dests: readonly MapDestination[]): void {
    const m = compileMapping(src, dests);
    const i = this.list.findIndex((x) => x.src === src);
    if (i >= 0) this.list[i] = m;
    else this.list.push(m);
    this.cache.clear();
  }

  get size(): number {
    return this.list.length;
  }

  /** The source subjects (a leafnode connection is told of them as interest). */
  sources(): string[] {
    return this.list.map((m) => m.src);
  }

  /**
   * The subject a message published on `subject` goes to: itself when no mapping applies, "" when
   * the draw landed on no destination (the source was listed and the weights add up to less than
   * 100: the message is dropped).
   */
  map(subject: string): string {
    const hit = this.cache.get(subject);
    if (hit !== undefined) return hit ?? subject;
    let tokens: string[] | null = null;
    let m: Mapping | undefined;
    for (const x of this.list) {
      if (!x.wildcard) {
        if (x.src === subject) {
          m = x;
          break;
        }
        continue;
      }
      tokens ??= subject.split(".");
      if (tokensMatchPattern(tokens, x.srcTokens)) {
        m = x;
        break;
      }
    }
    if (m === undefined) {
      this.remember(subject, null);
      return subject;
    }
    let dests = m.dests;
    if (m.byCluster.size > 0) dests = m.byCluster.get(this.cluster()) ?? m.dests;
    let d: Weighted | undefined;
    if (dests.length === 1 && dests[0]!.upTo === 100) {
      d = dests[0]!;
    } else {
      const w = Math.floor(this.random() * 100);
      d = dests.find((x) => w < x.upTo);
      if (d === undefined) return "";
    }
    const out = d.tr.apply(tokens ?? subject.split("."));
    if (dests.length === 1 && m.byCluster.size === 0) this.remember(subject, out);
    return out;
  }

  private remember(subject: string, mapped: string | null): void {
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(subject, mapped);
  }
}
