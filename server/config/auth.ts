// nats-server's `authorization {}` block (token, user/password, users and nkeys with their
// permissions) and `accounts {}` (users, exports, imports, JetStream limits per account).
import { mapMappings } from "./mappings.js";
import { authConfigError, calloutConfigError, isPublicUserKey, type AuthCalloutOptions, type AuthorizationOptions, type NkeyUser, type UserEntry } from "../auth/auth.js";
import { DEFAULT_RESPONSE_PERMISSION, type Permissions, type ResponsePermission, type SubjectPermission } from "../auth/permissions.js";
import { isValidSubject } from "../../protocol/subject.js";
import type { AccountJetStreamLimits, AccountOptions, AccountsOptions, ExportOption, ImportOption } from "../accounts/options.js";
import { type ConfigValue, parseDuration } from "./parse.js";
import { type Readers, STORAGE_UNITS, isMap, REFUSE_REASON } from "./readers.js";

/** Keys of a user entry that gnat does not implement yet: refused. */
const USER_REFUSED = new Set(["account", "allowed_connection_types", "connection_types"]);

/** nats-server's `authorization {}` block: a token, one user/password, or a users list. */
export function mapAuthorization(key: string, v: ConfigValue, r: Readers): AuthorizationOptions {
  if (!isMap(v)) throw r.fail(key, "Expected authorization to be a map");
  const a: AuthorizationOptions = {};
  for (const [mk, mv] of Object.entries(v)) {
    const k = mk.toLowerCase();
    switch (k) {
      case "user":
      case "username":
        a.user = r.str(mk, mv);
        break;
      case "auth_callout":
      case "auth_hook":
        a.callout = mapAuthCallout(mk, mv, r);
        break;
      case "pass":
      case "password":
        a.password = r.str(mk, mv);
        break;
      case "token":
        a.token = r.str(mk, mv);
        break;
      case "timeout":
        // Seconds, as in nats-server (a float is allowed).
        if (typeof mv !== "number" || !(mv > 0)) throw r.fail(mk, `${key}.${mk} must be a positive number of seconds`);
        a.timeout = mv * 1000;
        break;
      case "default_permission":
      case "default_permissions":
      case "permissions":
        a.defaultPermissions = mapPermissions(key, mv, r);
        break;
      case "users": {
        if (!Array.isArray(mv)) throw r.fail(key, `Expected users field to be an array, got ${typeof mv}`);
        // As nats-server does, one list holds both kinds; they are kept apart from here on.
        const entries = mv.map((u) => mapUser(key, u, r));
        a.users = entries.filter((e): e is UserEntry => "user" in e);
        const nkeys = entries.filter((e): e is NkeyUser => "nkey" in e);
        if (nkeys.length > 0) a.nkeys = nkeys;
        break;
      }
      default:
        throw r.fail(key, `unknown field "${mk}"`);
    }
  }
  const err = authConfigError(a);
  if (err !== null) throw r.fail(key, err);
  if (a.defaultPermissions !== undefined && a.users === undefined && a.nkeys === undefined) {
    // nats-server applies them to users lists only; say so rather than let it pass unnoticed.
    r.warnings.push(`${key}.default_permissions apply to users lists only: the token or single user has no permissions`);
  }
  return a;
}

/** nats-server 2.10's `auth_callout { issuer, auth_users, account, xkey }` (its parseAuthCallout). */
function mapAuthCallout(key: string, v: ConfigValue, r: Readers): AuthCalloutOptions {
  if (!isMap(v)) throw r.fail(key, `Expected authorization callout to be a map/struct, got ${JSON.stringify(v)}`);
  const c: AuthCalloutOptions = { issuer: "", authUsers: [], account: "$G" };
  for (const [mk, mv] of Object.entries(v)) {
    switch (mk.toLowerCase()) {
      case "issuer":
        c.issuer = r.str(mk, mv);
        break;
      case "account":
      case "acc":
        c.account = r.str(mk, mv);
        break;
      case "auth_users":
      case "users":
        if (!Array.isArray(mv)) throw r.fail(mk, `Expected auth_users field to be an array, got ${typeof mv}`);
        c.authUsers = mv.map((u) => r.str(mk, u));
        break;
      case "xkey":
      case "key":
        c.xkey = r.str(mk, mv);
        break;
      default:
        throw r.fail(mk, `Unknown field ${JSON.stringify(mk)} parsing authorization callout`);
    }
  }
  const err = calloutConfigError(c);
  if (err !== null) throw r.fail(key, err);
  return c;
}

function mapUser(key: string, v: ConfigValue, r: Readers): UserEntry | NkeyUser {
  if (!isMap(v)) throw r.fail(key, "Expected user entry to be a map/struct");
  let user: string | undefined;
  let password: string | undefined;
  let nkey: string | undefined;
  let permissions: Permissions | undefined;
  for (const [mk, mv] of Object.entries(v)) {
    const k = mk.toLowerCase();
    if (USER_REFUSED.has(k)) throw r.fail(key, `'${key}.users.${mk}' ${REFUSE_REASON}`);
    switch (k) {
      case "user":
      case "username":
        user = r.str(mk, mv);
        break;
      case "pass":
      case "password":
        password = r.str(mk, mv);
        break;
      case "nkey":
        nkey = r.str(mk, mv);
        break;
      case "permission":
      case "permissions":
        permissions = mapPermissions(key, mv, r);
        break;
      default:
        throw r.fail(key, `unknown field "${mk}"`);
    }
  }
  if (nkey !== undefined) {
    if (!isPublicUserKey(nkey)) throw r.fail(key, "Not a valid public nkey for a user");
    if (user !== undefined || password !== undefined) throw r.fail(key, "Nkey users do not take usernames or passwords");
    return permissions === undefined ? { nkey } : { nkey, permissions };
  }
  if (user === undefined) throw r.fail(key, "User entry requires a user");
  return permissions === undefined ? { user, password: password ?? "" } : { user, password: password ?? "", permissions };
}

/** A user's `permissions { publish, subscribe }`. */
function mapPermissions(key: string, v: ConfigValue, r: Readers): Permissions {
  if (!isMap(v)) throw r.fail(key, "Expected permissions to be a map");
  const p: Permissions = {};
  for (const [mk, mv] of Object.entries(v)) {
    switch (mk.toLowerCase()) {
      case "pub":
      case "publish":
      case "import":
        p.publish = mapSubjectPermission(key, mk, mv, r);
        break;
      case "sub":
      case "subscribe":
      case "export":
        p.subscribe = mapSubjectPermission(key, mk, mv, r);
        break;
      case "allow_responses":
      case "publish_allow_responses": {
        const rp = mapAllowResponses(key, mv, r);
        if (rp !== undefined) p.allowResponses = rp;
        else delete p.allowResponses;
        break;
      }
      default:
        throw r.fail(key, `unknown field "${mk}"`);
    }
  }
  return p;
}

/**
 * `allow_responses: true` (one response within 2 minutes), `false` (none), or
 * `{ max: N, expires: "1m" }`; 0 for either means its default, a negative value no limit.
 */
function mapAllowResponses(key: string, v: ConfigValue, r: Readers): ResponsePermission | undefined {
  if (typeof v === "boolean") return v ? { ...DEFAULT_RESPONSE_PERMISSION } : undefined;
  if (!isMap(v)) throw r.fail(key, "error parsing response permissions, expected a boolean or a map");
  const rp: ResponsePermission = { ...DEFAULT_RESPONSE_PERMISSION };
  for (const [k, x] of Object.entries(v)) {
    switch (k.toLowerCase()) {
      case "max":
      case "max_msgs":
      case "max_messages":
      case "max_responses": {
        if (typeof x !== "number" || !Number.isInteger(x)) throw r.fail(key, `error parsing ${k}: expected an integer`);
        if (x !== 0) rp.max = x;
        break;
      }
      case "expires":
      case "expiration":
      case "ttl": {
        if (typeof x !== "string") throw r.fail(key, "error parsing expires, not a duration string");
        const ms = parseDuration(x);
        if (ms === null) throw r.fail(key, `error parsing expires: time: invalid duration "${x}"`);
        if (ms !== 0) rp.expires = ms;
        break;
      }
      default:
        throw r.fail(key, `Unknown field "${k}" parsing permissions`);
    }
  }
  return rp;
}

/**
 * `"foo.>"`, `["a", "b"]` (both: an allow list) or `{ allow: …, deny: … }`. Subscribe entries
 * may be `"subject queue"` (queue permissions), as nats-server's checkPermSubjectArray allows.
 */
function mapSubjectPermission(key: string, mk: string, v: ConfigValue, r: Readers): SubjectPermission {
  const queues = /^(sub|subscribe|export)$/i.test(mk);
  const list = (k: string, x: ConfigValue): string[] => {
    const items = (Array.isArray(x) ? x : [x]).map((s) => r.str(k, s));
    for (const s of items) {
      if (isValidSubject(s)) continue;
      const parts = s.trim().split(/\s+/);
      if (!queues || parts.length !== 2) throw r.fail(key, `subject "${s}" is not a valid subject`);
      if (!isValidSubject(parts[0]!)) throw r.fail(key, `subject "${parts[0]}" is not a valid subject`);
    }
    return items;
  };
  if (!isMap(v)) return { allow: list(mk, v) };
  const p: SubjectPermission = {};
  for (const [k, x] of Object.entries(v)) {
    switch (k.toLowerCase()) {
      case "allow":
        p.allow = list(k, x);
        break;
      case "deny":
        p.deny = list(k, x);
        break;
      default:
        throw r.fail(key, `unknown field "${k}"`);
    }
  }
  return p;
}

/** nats-server's `accounts { A: { users, exports, imports, jetstream } }`. */
export function mapAccounts(key: string, v: ConfigValue, r: Readers): AccountsOptions {
  if (!isMap(v)) throw r.fail(key, "Expected accounts to be a map");
  const out: AccountsOptions = {};
  for (const [name, av] of Object.entries(v)) {
    if (!isMap(av)) throw r.fail(key, `Expected account "${name}" to be a map`);
    const acc: AccountOptions = {};
    for (const [mk, mv] of Object.entries(av)) {
      switch (mk.toLowerCase()) {
        case "users": {
          if (!Array.isArray(mv)) throw r.fail(key, `Expected users field to be an array, got ${typeof mv}`);
          const entries = mv.map((u) => mapUser(key, u, r));
          acc.users = entries.filter((e): e is UserEntry => "user" in e);
          const nkeys = entries.filter((e): e is NkeyUser => "nkey" in e);
          if (nkeys.length > 0) acc.nkeys = nkeys;
          break;
        }
        case "exports":
          if (!Array.isArray(mv)) throw r.fail(key, `Exports should be an array, got ${typeof mv}`);
          acc.exports = mv.map((e) => mapExport(key, e, r));
          break;
        case "imports":
          if (!Array.isArray(mv)) throw r.fail(key, `Imports should be an array, got ${typeof mv}`);
          acc.imports = mv.map((e) => mapImport(key, e, r));
          break;
        case "jetstream":
          acc.jetstream = mapAccountJetStream(key, mv, r);
          break;
        case "mappings":
        case "maps":
          acc.mappings = mapMappings(key, mv, r, av, mk);
          break;
        default:
          throw r.fail(key, `'${key}.${name}.${mk}' ${REFUSE_REASON}`);
      }
    }
    out[name] = acc;
  }
  return out;
}

function mapExport(key: string, v: ConfigValue, r: Readers): ExportOption {
  if (!isMap(v)) throw r.fail(key, "Export Items should be a map with type entry");
  const e: ExportOption = {};
  for (const [mk, mv] of Object.entries(v)) {
    switch (mk.toLowerCase()) {
      case "stream":
        e.stream = r.str(mk, mv);
        break;
      case "service":
        e.service = r.str(mk, mv);
        break;
      case "accounts":
        if (!Array.isArray(mv)) throw r.fail(key, "Expected accounts field to be an array");
        e.accounts = mv.map((a) => r.str(mk, a));
        break;
      case "response":
      case "response_type": {
        const t = r.str(mk, mv).toLowerCase();
        if (t !== "singleton" && t !== "single" && t !== "stream" && t !== "chunked") throw r.fail(key, `Unknown response type: "${t}"`);
        e.responseType = t === "single" ? "singleton" : t;
        break;
      }
      case "threshold":
      case "response_threshold":
        e.responseThreshold = r.duration(mk, mv);
        break;
      case "latency":
      case "account_token_position":
      case "advertise":
        r.warnings.push(`config key 'exports.${mk}' is not supported by gnat yet and is ignored`);
        break;
      default:
        throw r.fail(key, `Unknown field "${mk}" parsing export`);
    }
  }
  if (e.stream !== undefined && e.responseType !== undefined) throw r.fail(key, "Detected response directive on non-service");
  return e;
}

function mapImport(key: string, v: ConfigValue, r: Readers): ImportOption {
  if (!isMap(v)) throw r.fail(key, "Import Items should be a map with type entry");
  const i: ImportOption = {};
  const ref = (mk: string, x: ConfigValue): { account: string; subject: string } => {
    if (!isMap(x)) throw r.fail(key, `Expected ${mk} import to be a map with account and subject`);
    let account = "";
    let subject = "";
    for (const [k, y] of Object.entries(x)) {
      const l = k.toLowerCase();
      if (l === "account") account = r.str(k, y);
      else if (l === "subject") subject = r.str(k, y);
      else throw r.fail(key, `Unknown field "${k}" parsing import`);
    }
    if (account === "") throw r.fail(key, `Expect an account name and a subject for ${mk} import`);
    return { account, subject };
  };
  for (const [mk, mv] of Object.entries(v)) {
    switch (mk.toLowerCase()) {
      case "stream":
        i.stream = ref("stream", mv);
        break;
      case "service":
        i.service = ref("service", mv);
        break;
      case "prefix":
        i.prefix = r.str(mk, mv);
        break;
      case "to":
        i.to = r.str(mk, mv);
        break;
      case "share":
      case "allow_trace":
        r.warnings.push(`config key 'imports.${mk}' is not supported by gnat yet and is ignored`);
        break;
      default:
        throw r.fail(key, `Unknown field "${mk}" parsing import`);
    }
  }
  return i;
}

/** An account's `jetstream`: enabled / disabled, a bool, or its limits. */
function mapAccountJetStream(key: string, v: ConfigValue, r: Readers): boolean | AccountJetStreamLimits {
  if (typeof v === "boolean") return v;
  if (typeof v === "string") {
    const l = v.toLowerCase();
    if (l === "enabled" || l === "enable") return true;
    if (l === "disabled" || l === "disable") return false;
    throw r.fail(key, `Expected 'enabled' or 'disabled' for string value, got '${v}'`);
  }
  if (!isMap(v)) throw r.fail(key, "Expected map, bool or string to define JetStream");
  const lim: AccountJetStreamLimits = {};
  const num = (k: string, x: ConfigValue): number => {
    if (typeof x === "number" && Number.isInteger(x)) return x;
    if (typeof x === "string") {
      const m = /^\s*(-?\d+)\s*([KMGT])?B?\s*$/i.exec(x);
      if (m) return Number.parseInt(m[1]!, 10) * (m[2] ? STORAGE_UNITS[m[2].toUpperCase()]! : 1);
    }
    throw r.fail(k, `${k} must be a number, got ${JSON.stringify(x)}`);
  };
  for (const [mk, mv] of Object.entries(v)) {
    switch (mk.toLowerCase()) {
      case "max_memory":
      case "max_mem":
      case "mem":
      case "memory":
        lim.maxMemory = num(mk, mv);
        break;
      case "max_file":
      case "max_store":
      case "max_disk":
      case "file":
      case "store":
      case "disk":
        lim.maxStore = num(mk, mv);
        break;
      case "max_streams":
      case "streams":
        lim.maxStreams = num(mk, mv);
        break;
      case "max_consumers":
      case "consumers":
        lim.maxConsumers = num(mk, mv);
        break;
      default:
        r.warnings.push(`config key 'jetstream.${mk}' of an account is not supported by gnat yet and is ignored`);
    }
  }
  return lim;
}
