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
