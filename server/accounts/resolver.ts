// Tested by test/server/operator.test.ts and test/server/operator-resolver.test.ts.
// Where account JWTs come from in operator mode, as nats-server's resolvers: `MEMORY` (the
// preloaded JWTs, read-only) and the full directory resolver (`resolver { type: full, dir }`),
// one `<account public key>.jwt` file per account, written on claims updates and read at start.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface AccountResolver {
  /** The account's JWT, or null when unknown. */
  fetch(account: string): string | null;
  /** Keep a (checked) JWT; false when this resolver is read-only. */
  store(account: string, jwt: string): boolean;
  /** Forget an account (allow_delete); false when not allowed. */
  remove(account: string): boolean;
  readonly readOnly: boolean;
  /** Every account this resolver knows. */
  list(): string[];
}

/** nats-server's MemAccResolver: the preloads, and claims updates kept in memory only. */
export class MemoryResolver implements AccountResolver {
  private readonly jwts: Map<string, string>;
  readonly readOnly = false;

  constructor(preload: Record<string, string>) {
    this.jwts = new Map(Object.entries(preload));
  }

  fetch(account: string): string | null {
    return this.jwts.get(account) ?? null;
  }

  store(account: string, jwt: string): boolean {
    this.jwts.set(account, jwt);
    return true;
  }

  remove(): boolean {
    return false;
  }

  list(): string[] {
    return [...this.jwts.keys()];
  }
}

/**
 * nats-server's DirAccResolver (type full): every account JWT in `dir` as `<key>.jwt`, written
 * through a temp file and a rename so a crash leaves the old JWT or the new one, never half.
 */
export class DirResolver implements AccountResolver {
  readonly readOnly = false;
  private readonly cache = new Map<string, string>();

  constructor(readonly dir: string, private readonly allowDelete: boolean, preload: Record<string, string> = {}) {
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(dir)) {
      if (!f.endsWith(".jwt")) continue;
      try {
        this.cache.set(f.slice(0, -4), readFileSync(join(dir, f), "utf8").trim());
      } catch {
        // Unreadable: as if absent; a later update rewrites it.
      }
    }
    // Preloads fill in what the directory does not have (the directory is newer).
    for (const [k, v] of Object.entries(preload)) if (!this.cache.has(k)) this.store(k, v);
  }

  fetch(account: string): string | null {
    return this.cache.get(account) ?? null;
  }

  store(account: string, jwt: string): boolean {
    const file = join(this.dir, `${account}.jwt`);
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, jwt);
    renameSync(tmp, file);
    this.cache.set(account, jwt);
    return true;
  }

  /** `allow_delete`: claims deletes are taken. */
  get deleteAllowed(): boolean {
    return this.allowDelete;
  }

  remove(account: string): boolean {
    if (!this.allowDelete) return false;
    // A JWT that is not there is deleted already (nats-server's store.delete).
    rmSync(join(this.dir, `${account}.jwt`), { force: true });
    this.cache.delete(account);
    return true;
  }

  list(): string[] {
    return [...this.cache.keys()];
  }
}
