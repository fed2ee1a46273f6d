// LeafPerms on its own: what a leafnode connection may carry, as nats-server decides it for a LEAF
// client (the behaviour across real links is test/cluster/leaf-perms.test.ts).
import { describe, expect, test } from "vitest";
import { LeafPerms, permFromInfo, permJson, userSides } from "../../server/cluster/leaf-perms.js";

describe("LeafPerms", () => {
  test("publish: the allow list, then the deny list and the extra denies", () => {
    const p = new LeafPerms({ allow: ["up.>"], deny: ["up.secret"] }, undefined, { pubDeny: ["$JS.API.>", "up.noexport"] });
    expect(["up.a", "up.secret", "up.noexport", "other", "$JS.API.INFO"].map((s) => p.canPublish(s))).toEqual([true, false, false, false, false]);
    expect(p.openPublish).toBe(false);
    expect(new LeafPerms(undefined, undefined).openPublish).toBe(true);
  });

  test("an empty publish allow list allows nothing; an empty subscribe one restricts nothing", () => {
    const p = new LeafPerms({ allow: [] }, { allow: [] });
    expect(p.canPublish("x")).toBe(false);
    expect(p.canSubscribe("x")).toBe(true);
  });

  test("subscribe: a wildcard broader than an allowed subject is allowed (nats-server's ReverseMatch for leafs)", () => {
    const p = new LeafPerms(undefined, { allow: ["down.a.b"], deny: ["down.secret"] }, { subDeny: ["noisy.>"] });
    expect(["down.a.b", "down.>", "down.a.*", "down.x", "down.secret", "noisy.x", ">"].map((s) => p.canSubscribe(s)))
      .toEqual([true, true, true, false, false, false, true]);
  });

  test("queue entries of a subscribe list say nothing of messages or plain interest", () => {
    const p = new LeafPerms({ allow: ["q.> workers"] }, { deny: ["q.> workers"] });
    expect(p.canPublish("q.a")).toBe(false);
    expect(p.canSubscribe("q.a")).toBe(true);
  });

  test("a user's sides: allow_responses without a publish allow list allows no publish", () => {
    expect(userSides({ allowResponses: { max: 1, expires: 1000 } }).pub).toEqual({ allow: [] });
    expect(userSides({ publish: { allow: ["a"] }, subscribe: { deny: ["b"] } })).toEqual({ pub: { allow: ["a"] }, sub: { deny: ["b"] } });
    expect(userSides(null)).toEqual({ pub: undefined, sub: undefined });
  });

  test("the INFO's import/export as Go writes them (empty lists left out) and as read back", () => {
    expect(permJson({ allow: [], deny: ["x"] })).toEqual({ deny: ["x"] });
    expect(permJson(undefined)).toBeUndefined();
    expect(permFromInfo({ allow: ["a", 1], deny: "no" })).toEqual({ allow: ["a"] });
    expect(permFromInfo("x")).toBeUndefined();
  });
});
