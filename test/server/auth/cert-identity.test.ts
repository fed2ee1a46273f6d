import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { certIdentity, dnEqual, dnRdnsMatch, mapCertToUser, parseDn } from "../../../server/auth/cert-identity.js";
import { makeClientCert, makeTestCerts, type TestCerts } from "../../helpers/certs.js";

let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts();
});
afterAll(() => certs.cleanup());

const identityOf = (path: string) => certIdentity(new X509Certificate(readFileSync(path)).raw);

describe("a certificate's identity", () => {
  test("the subject in Go's RDNSequence form, most specific first, with the SANs", () => {
    const id = identityOf(certs.alice.cert);
    expect(id.subject).toBe("CN=alice,OU=eng,O=gnat");
    expect(id.emails).toEqual(["alice@example.com"]);
    expect(id.dnsNames).toEqual([]);
    expect(id.dn).toEqual([[{ type: "CN", value: "alice" }], [{ type: "OU", value: "eng" }], [{ type: "O", value: "gnat" }]]);
    expect(identityOf(certs.bob.cert).dnsNames).toEqual(["bob.example.com"]);
  });

  test("Go's order, not the certificate's; escapes; several OUs as one multi-valued RDN; the last CN", () => {
    const p = makeClientCert(certs, "odd", "/CN=first/OU=b/O=Acme\\, Inc./OU=a/C=US/CN=last", "URI:spiffe://gnat/odd,DNS:odd.example.com");
    const id = identityOf(p.cert);
    expect(id.subject).toBe("CN=last,OU=b+OU=a,O=Acme\\, Inc.,C=US");
    expect(id.uris).toEqual(["spiffe://gnat/odd"]);
    expect(id.dnsNames).toEqual(["odd.example.com"]);
  });

  test("domain components come apart; the email attribute of a subject is left out of its string", () => {
    const p = makeClientCert(certs, "dc", "/DC=com/DC=example/O=gnat/CN=carol/emailAddress=carol@example.com");
    const id = identityOf(p.cert);
    expect(id.subject).toBe("CN=carol,O=gnat");
    expect(id.domainComponents).toBe("DC=com,DC=example");
    // emailAddress is not a type nats-server's DN reader knows: no DN match for this certificate.
    expect(id.dn).toBeNull();
  });
});

describe("DN strings, as nats-server's ldap reader takes them", () => {
  test("spaces around separators are dropped, escapes decoded, + makes a multi-valued RDN", () => {
    expect(parseDn("CN=alice, OU = eng ,O=Acme\\, Inc.")).toEqual([
      [{ type: "CN", value: "alice" }], [{ type: "OU", value: "eng" }], [{ type: "O", value: "Acme, Inc." }],
    ]);
    expect(parseDn("OU=a+OU=b,O=x")).toEqual([[{ type: "OU", value: "a" }, { type: "OU", value: "b" }], [{ type: "O", value: "x" }]]);
    expect(parseDn("CN=caf\\c3\\a9")).toEqual([[{ type: "CN", value: "café" }]]);
  });

  test("a plain name or a BER value is not a DN", () => {
    expect(parseDn("alice")).toBeNull();
    expect(parseDn("alice@example.com")).toBeNull();
    expect(parseDn("CN=#0403616263")).toBeNull();
  });

  test("types match case-insensitively, values exactly; RDN order matters only to equality", () => {
    const a = parseDn("cn=alice,o=gnat")!;
    expect(dnEqual(a, parseDn("CN=alice,O=gnat")!)).toBe(true);
    expect(dnEqual(a, parseDn("CN=Alice,O=gnat")!)).toBe(false);
    expect(dnEqual(a, parseDn("O=gnat,CN=alice")!)).toBe(false);
    expect(dnRdnsMatch(a, parseDn("O=gnat,CN=alice")!)).toBe(true);
  });
});

describe("which user a certificate names", () => {
  test("an email SAN first, then DNS and URI SANs, then the DN, then the subject string", () => {
    const alice = identityOf(certs.alice.cert);
    expect(mapCertToUser(alice, ["CN=alice,OU=eng,O=gnat", "alice@example.com"])).toBe("alice@example.com");
    expect(mapCertToUser(alice, ["O=gnat,OU=eng,CN=alice"])).toBe("O=gnat,OU=eng,CN=alice");
    expect(mapCertToUser(alice, ["bob", "CN=bob,O=gnat"])).toBeNull();
  });

  test("the subject with its domain components appended, when it has some", () => {
    const p = makeClientCert(certs, "dc2", "/DC=com/DC=example/O=gnat/CN=dave");
    const id = identityOf(p.cert);
    expect(mapCertToUser(id, ["CN=dave,O=gnat,DC=com,DC=example"])).toBe("CN=dave,O=gnat,DC=com,DC=example");
    expect(mapCertToUser(id, ["CN=dave,O=gnat,DC=example,DC=com"])).toBe("CN=dave,O=gnat,DC=example,DC=com");
    expect(mapCertToUser(id, ["CN=dave,O=gnat"])).toBe("CN=dave,O=gnat");
  });
});
