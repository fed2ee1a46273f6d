// Tested by test/cluster/leaf-perms.test.ts (against nats-server, both ways) and leafnodes.test.ts.
// What a leafnode connection may carry, as nats-server keeps it for a LEAF client: a publish side
// (which messages go across, and which interest the other side may tell us of) and a subscribe
// side (which of our interest we tell across). A hub takes them from the leaf's user (its
// permissions, the other way round: what the user may subscribe to is what the hub may send it;
// what it may publish is the interest the hub tells it) and sends them to the leaf in its INFO
// (`import`, `export`), which the leaf applies on its side with its own deny_imports/deny_exports.
import { subjectMatches } from "../../protocol/subject.js";
import { patternCovers, splitSubjectQueue, type Permissions, type SubjectPermission } from "../auth/permissions.js";

/** Subjects whose publish check is kept (a bounded cache, cleared when full): it runs per message. */
const CACHE_MAX = 1024;

const hasWildcard = (s: string): boolean => s.split(".").some((t) => t === "*" || t === ">");

/** One side's allow (null: anything) and deny lists, plain subjects only (a queue entry names no message). */
interface Lists {
  readonly allow: readonly string[] | null;
  readonly deny: readonly string[];
}

function lists(p: SubjectPermission | undefined, extraDeny: readonly string[], emptyAllowRestricts: boolean): Lists {
  const plain = (xs: readonly string[] | undefined): string[] =>
    (xs ?? []).map(splitSubjectQueue).filter((e) => e.queue === "").map((e) => e.subject);
  const a = p?.allow;
  // nats-server: an empty publish allow list allows nothing; an empty subscribe one restricts nothing.
  const allow = a === undefined || (a.length === 0 && !emptyAllowRestricts) ? null : plain(a);
  return { allow, deny: [...plain(p?.deny), ...extraDeny] };
}

export class LeafPerms {
  private readonly pub: Lists;
  private readonly sub: Lists;
  private readonly pubCache = new Map<string, boolean>();
  /** Nothing restricts publishing: forward() skips the check. */
  readonly openPublish: boolean;

  /**
   * @param pub what goes across (messages), and the literal interest the other side may tell
   * @param sub the interest we tell across
   */
  constructor(pub: SubjectPermission | undefined, sub: SubjectPermission | undefined, extra: { pubDeny?: readonly string[]; subDeny?: readonly string[] } = {}) {
    this.pub = lists(pub, extra.pubDeny ?? [], true);
    this.sub = lists(sub, extra.subDeny ?? [], false);
    this.openPublish = this.pub.allow === null && this.pub.deny.length === 0;
  }

  /** Whether a message on `subject` may go across (nats-server's pubAllowed). */
  canPublish(subject: string): boolean {
    if (this.openPublish) return true;
    const hit = this.pubCache.get(subject);
    if (hit !== undefined) return hit;
    // A message's subject is literal and valid: the allocation-free match will do.
    const p = this.pub;
    let ok = p.allow === null || p.allow.some((x) => subjectMatches(x, subject));
    if (ok) ok = !p.deny.some((x) => subjectMatches(x, subject));
    if (this.pubCache.size >= CACHE_MAX) this.pubCache.clear();
    this.pubCache.set(subject, ok);
    return ok;
  }

  /**
   * Whether interest in `subject` may be told across (nats-server's canSubscribe for a LEAF):
   * a wildcard broader than an allowed subject is allowed too (the messages are pruned by the
   * other side's publish check).
   */
  canSubscribe(subject: string): boolean {
    const s = this.sub;
    let ok = true;
    if (s.allow !== null) {
      ok = s.allow.some((x) => patternCovers(x, subject));
      if (!ok && hasWildcard(subject)) ok = s.allow.some((x) => patternCovers(subject, x));
    }
    return ok && !s.deny.some((x) => patternCovers(x, subject));
  }
}

/**
 * The user's publish and subscribe sides as nats-server keeps them (validateResponsePermissions:
 * allow_responses without a publish allow list allows no publish but the responses).
 */
export function userSides(perms: Permissions | null): { pub: SubjectPermission | undefined; sub: SubjectPermission | undefined } {
  if (perms === null) return { pub: undefined, sub: undefined };
  let pub = perms.publish;
  if (perms.allowResponses !== undefined && pub?.allow === undefined) pub = { ...pub, allow: [] };
  return { pub, sub: perms.subscribe };
}

/** A SubjectPermission as Go's JSON writes it (empty lists left out), for the INFO's import/export. */
export function permJson(p: SubjectPermission | undefined): Record<string, string[]> | undefined {
  if (p === undefined) return undefined;
  return {
    ...(p.allow !== undefined && p.allow.length > 0 ? { allow: p.allow } : {}),
    ...(p.deny !== undefined && p.deny.length > 0 ? { deny: p.deny } : {}),
  };
}

/** An INFO's import/export (from a hub): a SubjectPermission, or undefined when absent or not one. */
export function permFromInfo(v: unknown): SubjectPermission | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const strings = (x: unknown): string[] | undefined => Array.isArray(x) ? x.filter((s): s is string => typeof s === "string") : undefined;
  const allow = strings(o.allow);
  const deny = strings(o.deny);
  return { ...(allow !== undefined ? { allow } : {}), ...(deny !== undefined ? { deny } : {}) };
}
