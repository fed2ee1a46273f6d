// Permissions: which patterns cover which subjects, and the per-connection checker.
import { describe, expect, test } from "vitest";
import { PermissionChecker, patternCovers } from "../../../server/auth/permissions.js";

describe("patternCovers", () => {
  test.each([
    ["foo", "foo", true],
    ["foo", "foo.bar", false],
    ["foo.*", "foo.bar", true],
    ["foo.*", "foo.bar.baz", false],
    ["foo.>", "foo.bar.baz", true],
    ["foo.>", "foo", false],
    [">", "anything.at.all", true],
    // A subscription's own wildcards are taken literally.
    ["foo.*", "foo.*", true],
    ["foo.>", "foo.*", true],
    ["foo.bar", "foo.*", false],
    ["*.bar", "foo.bar", true],
    ["foo.bar", "foo.ba", false],
    ["foo.ba", "foo.bar", false],
    ["foo.bar", "foo.bar.baz", false],
    ["*", "a", true],
    ["*", "a.b", false],
    [">", "a", true],
    ["a.*.c", "a.b.c", true],
    ["a.*.c", "a.b.cd", false],
    ["a.*.c", "a.b", false],
  ] as const)("%s covers %s: %s", (pattern, subject, expected) => {
    expect(patternCovers(pattern, subject)).toBe(expected);
  });
});

describe("PermissionChecker", () => {
  test("no allow list allows everything but the deny list", () => {
    const p = new PermissionChecker({ publish: { deny: ["secret.>"] } });
    expect(p.canPublish("anything")).toBe(true);
    expect(p.canPublish("secret.x")).toBe(false);
  });

  test("an allow list allows only what it covers, and deny overrides it", () => {
    const p = new PermissionChecker({ subscribe: { allow: ["a.>"], deny: ["a.b"] } });
    expect(p.canSubscribe("a.c")).toBe(true);
    expect(p.canSubscribe("a.b")).toBe(false);
    expect(p.canSubscribe("z")).toBe(false);
    expect(p.filtersDeliveries).toBe(true);
    expect(p.canDeliver("a.b")).toBe(false);
    expect(p.canDeliver("a.c")).toBe(true);
  });

  test("a subscribe list without deny leaves deliveries alone", () => {
    expect(new PermissionChecker({ subscribe: { allow: ["a"] } }).filtersDeliveries).toBe(false);
  });

  test("the publish cache stays correct past its bound", () => {
    const p = new PermissionChecker({ publish: { allow: ["ok.*"] } });
    for (let i = 0; i < 300; i++) {
      expect(p.canPublish(`ok.${i}`)).toBe(true);
      expect(p.canPublish(`no.${i}`)).toBe(false);
    }
    expect(p.canPublish("ok.1")).toBe(true);
  });
});

describe("queue permissions", () => {
  test("an allow entry with a queue admits that queue group only, and no plain SUB", () => {
    const p = new PermissionChecker({ subscribe: { allow: ["foo.> workers"] } });
    expect(p.canSubscribe("foo.a", "workers")).toBe(true);
    expect(p.canSubscribe("foo.a", "other")).toBe(false);
    expect(p.canSubscribe("foo.a")).toBe(false);
    expect(p.canSubscribe("bar", "workers")).toBe(false);
  });

  test("a plain allow entry admits any queue group unless queue entries cover the subject", () => {
    expect(new PermissionChecker({ subscribe: { allow: ["foo.>"] } }).canSubscribe("foo.a", "any")).toBe(true);
    const p = new PermissionChecker({ subscribe: { allow: ["foo.>", "foo.a workers"] } });
    expect(p.canSubscribe("foo.a", "any")).toBe(false);
    expect(p.canSubscribe("foo.a", "workers")).toBe(true);
    expect(p.canSubscribe("foo.b", "any")).toBe(true);
    expect(p.canSubscribe("foo.a")).toBe(true);
  });

  test("a queue in an entry may be a wildcard pattern, and is also matched literally", () => {
    const p = new PermissionChecker({ subscribe: { allow: ["foo v1.*", "bar v2.*"] } });
    expect(p.canSubscribe("foo", "v1.a")).toBe(true);
    expect(p.canSubscribe("foo", "v1.a.b")).toBe(false);
    expect(p.canSubscribe("foo", "v2.a")).toBe(false);
    expect(p.canSubscribe("bar", "v2.*")).toBe(true);
  });

  test("a deny entry with a queue refuses that queue group only", () => {
    const p = new PermissionChecker({ subscribe: { deny: ["foo.> workers"] } });
    expect(p.canSubscribe("foo.a", "workers")).toBe(false);
    expect(p.canSubscribe("foo.a", "other")).toBe(true);
    expect(p.canSubscribe("foo.a")).toBe(true);
    // Queue deny entries do not filter deliveries: only plain ones do.
    expect(p.filtersDeliveries).toBe(false);
  });

  test("an empty subscribe allow list restricts nothing, an empty publish one everything", () => {
    const p = new PermissionChecker({ publish: { allow: [] }, subscribe: { allow: [] } });
    expect(p.canSubscribe("any")).toBe(true);
    expect(p.canPublish("any")).toBe(false);
  });
});

describe("allow_responses", () => {
  const clock = (): { now: () => number; t: number } => {
    const c = { t: 1000, now: () => c.t };
    return c;
  };

  test("alone it denies publishing except to reply subjects delivered", () => {
    const p = new PermissionChecker({ allowResponses: { max: 1, expires: 0 } });
    expect(p.checksPublish).toBe(true);
    expect(p.canPublish("_INBOX.x")).toBe(false);
    p.noteReply("_INBOX.x");
    expect(p.canPublish("_INBOX.x")).toBe(true);
    expect(p.canPublish("_INBOX.x")).toBe(false);
  });

  test("max responses per delivered reply subject", () => {
    const p = new PermissionChecker({ publish: { allow: ["ok"] }, allowResponses: { max: 3, expires: 0 } });
    p.noteReply("r");
    expect([1, 2, 3, 4].map(() => p.canPublish("r"))).toEqual([true, true, true, false]);
    expect(p.canPublish("ok")).toBe(true);
  });

  test("a negative max is no limit; a grant ends once expires has passed", () => {
    const c = clock();
    const p = new PermissionChecker({ allowResponses: { max: -1, expires: 60_000 } }, c.now);
    p.noteReply("r");
    for (let i = 0; i < 10; i++) expect(p.canPublish("r")).toBe(true);
    c.t += 60_001;
    expect(p.canPublish("r")).toBe(false);
  });

  test("a reply subject the publish list allows anyway takes no grant", () => {
    const p = new PermissionChecker({ publish: { allow: ["_INBOX.>"] }, allowResponses: { max: 1, expires: 0 } });
    p.noteReply("_INBOX.a");
    expect(p.pendingReplies).toBe(0);
    expect(p.canPublish("_INBOX.a")).toBe(true);
    expect(p.canPublish("_INBOX.a")).toBe(true);
  });

  test("0 for max or expires means the default, one response within two minutes", () => {
    const c = clock();
    const p = new PermissionChecker({ allowResponses: { max: 0, expires: 0 } }, c.now);
    p.noteReply("r");
    c.t += 119_000;
    expect(p.canPublish("r")).toBe(true);
    expect(p.canPublish("r")).toBe(false);
    p.noteReply("s");
    c.t += 120_001;
    expect(p.canPublish("s")).toBe(false);
  });

  test("used and expired grants are pruned, and the grants stay bounded under a flood", () => {
    const c = clock();
    const p = new PermissionChecker({ allowResponses: { max: 1, expires: 1000 } }, c.now);
    for (let i = 0; i < 100; i++) p.noteReply(`r.${i}`);
    c.t += 1001;
    p.noteReply("fresh");
    expect(p.pendingReplies).toBe(1);
    const q = new PermissionChecker({ allowResponses: { max: 1, expires: -1 } }, c.now);
    for (let i = 0; i < 70_000; i++) q.noteReply(`r.${i}`);
    expect(q.pendingReplies).toBe(65_536);
    // The newest grants are the ones kept.
    expect(q.canPublish("r.69999")).toBe(true);
    expect(q.canPublish("r.0")).toBe(false);
  });

  test("without allow_responses nothing is tracked", () => {
    const p = new PermissionChecker({ publish: { deny: ["x"] } });
    expect(p.tracksReplies).toBe(false);
    p.noteReply("x");
    expect(p.canPublish("x")).toBe(false);
  });
});

test("a user with only subscribe permissions skips the publish check", () => {
  const p = new PermissionChecker({ subscribe: { allow: ["a"] } });
  expect(p.checksPublish).toBe(false);
  expect(p.canPublish("anything")).toBe(true);
});

test("a subject with an empty token is covered by no pattern, as nats-server's sublist matches nothing for it", () => {
  expect(patternCovers(">", "a..b")).toBe(false);
  expect(patternCovers("a.>", "a.")).toBe(false);
});
