// Per-user publish/subscribe permissions, as nats-server applies them: an allow list (absent:
// everything) narrowed by a deny list. Checked on PUB and SUB, and on delivery to wildcard
// subscriptions that may cover a denied subject.

/** `allow` / `deny` subject patterns (wildcards allowed); an absent list does not restrict. */
export interface SubjectPermission {
  allow?: string[];
  deny?: string[];
}

/** nats-server's `permissions { publish, subscribe }` of one user. */
export interface Permissions {
  publish?: SubjectPermission;
  subscribe?: SubjectPermission;
}

/**
 * Whether `pattern` (an allow/deny entry, maybe with `*` and `>`) covers `subject`. The subject
 * is taken literally, as nats-server matches it through a sublist of the patterns: a SUB to
 * `foo.*` is covered by `foo.*` or `foo.>`, not by `foo.bar`.
 */
export function patternCovers(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    const t = p[i]!;
    if (t === ">") return s.length > i;
    if (i >= s.length) return false;
    if (t !== "*" && t !== s[i]) return false;
  }
  return p.length === s.length;
}

function allowed(p: SubjectPermission | undefined, subject: string): boolean {
  if (p === undefined) return true;
  if (p.allow !== undefined && !p.allow.some((a) => patternCovers(a, subject))) return false;
  return p.deny === undefined || !p.deny.some((d) => patternCovers(d, subject));
}

/** nats-server bounds its per-client permission cache the same way (maxPermCacheSize). */
const CACHE_MAX = 128;

/** One connection's view of its user's permissions, with that connection's own caches. */
export class PermissionChecker {
  private readonly pubCache = new Map<string, boolean>();
  private readonly deliverCache = new Map<string, boolean>();
  /** A subscribe deny list exists: deliveries to wildcard subscriptions must be checked. */
  readonly filtersDeliveries: boolean;

  constructor(private readonly perms: Permissions) {
    this.filtersDeliveries = (perms.subscribe?.deny?.length ?? 0) > 0;
  }

  canPublish(subject: string): boolean {
    return cached(this.pubCache, subject, () => allowed(this.perms.publish, subject));
  }

  canSubscribe(subject: string): boolean {
    return allowed(this.perms.subscribe, subject);
  }

  /** A message on `subject` may reach a subscription (a wildcard one may cover a denied subject). */
  canDeliver(subject: string): boolean {
    const deny = this.perms.subscribe?.deny;
    if (deny === undefined) return true;
    return cached(this.deliverCache, subject, () => !deny.some((d) => patternCovers(d, subject)));
  }
}

function cached(cache: Map<string, boolean>, subject: string, compute: () => boolean): boolean {
  const hit = cache.get(subject);
  if (hit !== undefined) return hit;
  const ok = compute();
  // Dropping everything on overflow keeps this O(1); the lists are short, recomputing is cheap.
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(subject, ok);
  return ok;
}
