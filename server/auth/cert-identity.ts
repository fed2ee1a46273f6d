// verify_and_map: which configured user a client certificate names. The rules are nats-server's
// (auth.go, checkClientTLSCertSubject): the certificate's email SANs, then DNS SANs, then URI
// SANs, each looked up literally among the user names; then the subject as a distinguished name,
// compared with every user name that parses as one (types case-insensitive, values exact, RDNs in
// order or reordered); then the subject in Go's RDNSequence string form ("CN=alice,OU=eng,O=gnat")
// with the domain components appended, then without. The certificate is read from its DER here
// (a few ASN.1 walks), once per connection, and only when mapping is on.

import type { TLSSocket } from "node:tls";

/** An attribute of a distinguished name: type ("CN") and value. */
export interface DnAttribute {
  type: string;
  value: string;
}

/** A distinguished name, most specific RDN first; each RDN one or more attributes. */
export type Dn = DnAttribute[][];

/** What a certificate offers to name a user. */
export interface CertIdentity {
  emails: string[];
  dnsNames: string[];
  uris: string[];
  /** Go's cert.Subject.ToRDNSequence().String(), e.g. "CN=alice,OU=eng,O=gnat". */
  subject: string;
  /** "DC=example,DC=com" from the subject, "" when it has none. */
  domainComponents: string;
  /** The subject as an RFC 4514 DN, or null when it holds a type nats-server's DN reader lacks. */
  dn: Dn | null;
}

// ---- DER ----------------------------------------------------------------------------------

interface Tlv {
  tag: number;
  /** Offsets of the content in the buffer. */
  start: number;
  end: number;
  /** Offset just past the whole element. */
  next: number;
}

function readTlv(b: Buffer, at: number, limit = b.length): Tlv {
  if (at + 2 > limit) throw new Error("truncated DER");
  const tag = b[at]!;
  let len = b[at + 1]!;
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) throw new Error("bad DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i]!;
    p += n;
  }
  if (p + len > limit) throw new Error("truncated DER");
  return { tag, start: p, end: p + len, next: p + len };
}

function children(b: Buffer, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = t.start; p < t.end; ) {
    const c = readTlv(b, p, t.end);
    out.push(c);
    p = c.next;
  }
  return out;
}

function oidString(b: Buffer, t: Tlv): string {
  const parts: number[] = [];
  let v = 0;
  for (let p = t.start; p < t.end; p++) {
    const byte = b[p]!;
    v = v * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}

const UTF8 = 0x0c, PRINTABLE = 0x13, T61 = 0x14, IA5 = 0x16, UNIVERSAL = 0x1c, BMP = 0x1e, NUMERIC = 0x12;

/** A string value as Go's asn1 reads it into an interface; null when it is not a string. */
function stringValue(b: Buffer, t: Tlv): string | null {
  const raw = b.subarray(t.start, t.end);
  switch (t.tag) {
    case UTF8:
      return raw.toString("utf8");
    case PRINTABLE:
    case IA5:
    case NUMERIC:
    case T61:
      return raw.toString("latin1");
    case BMP: {
      let s = "";
      for (let i = 0; i + 1 < raw.length; i += 2) s += String.fromCharCode((raw[i]! << 8) | raw[i + 1]!);
      return s;
    }
    case UNIVERSAL: {
      let s = "";
      for (let i = 0; i + 3 < raw.length; i += 4) s += String.fromCodePoint(raw.readUInt32BE(i));
      return s;
    }
    default:
      return null;
  }
}

const OID = {
  C: "2.5.4.6", ST: "2.5.4.8", L: "2.5.4.7", STREET: "2.5.4.9", POSTALCODE: "2.5.4.17",
  O: "2.5.4.10", OU: "2.5.4.11", CN: "2.5.4.3", SERIALNUMBER: "2.5.4.5", DC: "0.9.2342.19200300.100.1.25",
  SAN: "2.5.29.17",
} as const;

/** The types nats-server's DN reader knows (internal/ldap); any other makes the DN unusable. */
const LDAP_NAMES = new Map<string, string>([
  [OID.CN, "CN"], [OID.SERIALNUMBER, "SERIALNUMBER"], [OID.C, "C"], [OID.L, "L"], [OID.ST, "ST"],
  [OID.STREET, "STREET"], [OID.O, "O"], [OID.OU, "OU"], [OID.POSTALCODE, "POSTALCODE"], [OID.DC, "DC"],
]);

type RawRdns = { oid: string; value: string | null }[][];

function readName(b: Buffer, name: Tlv): RawRdns {
  return children(b, name).map((set) => children(b, set).map((atv) => {
    const [type, value] = children(b, atv);
    if (type === undefined || value === undefined) throw new Error("bad attribute");
    return { oid: oidString(b, type), value: stringValue(b, value) };
  }));
}

/** Go's RDN value escaping (pkix RDNSequence.String). */
function escapeValue(v: string): string {
  const chars = [...v];
  let out = "";
  for (let k = 0; k < chars.length; k++) {
    const c = chars[k]!;
    const special = c === "," || c === "+" || c === "\"" || c === "\\" || c === "<" || c === ">" || c === ";"
      || (c === " " && (k === 0 || k === chars.length - 1)) || (c === "#" && k === 0);
    out += special ? `\\${c}` : c;
  }
  return out;
}

/**
 * Go's pkix.Name round trip: the subject's known attributes regrouped in Go's fixed order (C, ST,
 * L, STREET, POSTALCODE, O, OU, then the last CN and SERIALNUMBER; several values of one type
 * become one multi-valued RDN), then printed most specific first.
 */
function goSubjectString(rdns: RawRdns): string {
  const groups: Record<string, string[]> = {};
  for (const rdn of rdns) {
    for (const a of rdn) {
      if (a.value === null) continue;
      (groups[a.oid] ??= []).push(a.value);
    }
  }
  const order: [string, string, boolean][] = [
    [OID.C, "C", false], [OID.ST, "ST", false], [OID.L, "L", false], [OID.STREET, "STREET", false],
    [OID.POSTALCODE, "POSTALCODE", false], [OID.O, "O", false], [OID.OU, "OU", false],
    [OID.CN, "CN", true], [OID.SERIALNUMBER, "SERIALNUMBER", true],
  ];
  const seq: string[] = [];
  for (const [oid, name, lastOnly] of order) {
    const vals = groups[oid];
    if (vals === undefined || vals.length === 0) continue;
    const use = lastOnly ? [vals[vals.length - 1]!] : vals;
    if (lastOnly && use[0] === "") continue;
    seq.push(use.map((v) => `${name}=${escapeValue(v)}`).join("+"));
  }
  return seq.reverse().join(",");
}

/** Go's asn1.Marshal of a string: PrintableString when every character allows it, else UTF8String. */
function goMarshalString(v: string): Buffer {
  const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(v);
  const body = Buffer.from(v, printable ? "latin1" : "utf8");
  const len = body.length < 128 ? Buffer.from([body.length])
    : body.length < 256 ? Buffer.from([0x81, body.length]) : Buffer.from([0x82, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([Buffer.from([printable ? PRINTABLE : UTF8]), len, body]);
}

const STANDARD = new Set<string>([OID.CN, OID.SERIALNUMBER, OID.C, OID.L, OID.ST, OID.STREET, OID.O, OID.OU, OID.POSTALCODE]);

/**
 * Go's cert.Subject.String() (what nats-server's connz shows as a peer certificate's subject):
 * the regrouped standard attributes, then each other attribute as OID=#hex, last first.
 */
export function goNameString(der: Buffer): string {
  const rdns = readName(der, subjectOf(der));
  const extras: string[] = [];
  for (const rdn of rdns) {
    for (const a of rdn) {
      if (STANDARD.has(a.oid) || a.value === null) continue;
      extras.push(`${a.oid}=#${goMarshalString(a.value).toString("hex")}`);
    }
  }
  const std = goSubjectString(rdns);
  return [std, ...extras.reverse()].filter((x) => x !== "").join(",");
}

function subjectOf(der: Buffer): Tlv {
  const cert = readTlv(der, 0);
  const tbs = children(der, cert)[0];
  if (tbs === undefined) throw new Error("no tbsCertificate");
  const fields = children(der, tbs);
  const subject = fields[(fields[0]?.tag === 0xa0 ? 1 : 0) + 4];
  if (subject === undefined) throw new Error("no subject");
  return subject;
}

/** The client certificate's identity for verify_and_map; null when there is none to read. */
/**
 * The client's certificates as PEM, for an auth callout's client_tls: the chain Node verified
 * (leaf first, up to the CA) when the client was verified, else the certificate it presented.
 */
export function peerCertsPem(s: TLSSocket): { verified: boolean; certs: string[] } {
  const pem = (der: Buffer): string => `-----BEGIN CERTIFICATE-----\n${der.toString("base64").replace(/.{1,64}/g, "$&\n")}-----END CERTIFICATE-----\n`;
  const leaf = s.getPeerCertificate(true);
  if (leaf === null || leaf.raw === undefined) return { verified: false, certs: [] };
  if (!s.authorized) return { verified: false, certs: [pem(leaf.raw)] };
  const chain: string[] = [];
  const seen = new Set<string>();
  for (let c: typeof leaf | undefined = leaf; c?.raw !== undefined && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
    seen.add(c.fingerprint256);
    chain.push(pem(c.raw));
  }
  return { verified: true, certs: chain };
}

export function peerCertIdentity(s: TLSSocket): CertIdentity | null {
  const x = s.getPeerX509Certificate();
  if (x === undefined) return null;
  try {
    return certIdentity(x.raw);
  } catch {
    return null;
  }
}

/** The identity a DER certificate offers; throws when the DER does not parse. */
export function certIdentity(der: Buffer): CertIdentity {
  const cert = readTlv(der, 0);
  const tbs = children(der, cert)[0];
  if (tbs === undefined) throw new Error("no tbsCertificate");
  const fields = children(der, tbs);
  let i = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version
  i += 4; // serial, signature, issuer, validity
  const subject = fields[i];
  if (subject === undefined) throw new Error("no subject");
  const rdns = readName(der, subject);
  const id: CertIdentity = { emails: [], dnsNames: [], uris: [], subject: goSubjectString(rdns), domainComponents: "", dn: null };
  const dcs: string[] = [];
  for (const rdn of rdns) for (const a of rdn) if (a.oid === OID.DC && a.value !== null) dcs.push(`DC=${a.value}`);
  id.domainComponents = dcs.join(",");
  id.dn = ldapDn(rdns);
  const ext = fields.find((f) => f.tag === 0xa3);
  if (ext !== undefined) {
    const list = children(der, ext)[0];
    for (const e of list === undefined ? [] : children(der, list)) {
      const parts = children(der, e);
      if (parts[0] === undefined || oidString(der, parts[0]) !== OID.SAN) continue;
      const octets = parts[parts.length - 1]!;
      const names = readTlv(der, octets.start, octets.end);
      for (const gn of children(der, names)) {
        const v = der.subarray(gn.start, gn.end).toString("latin1");
        if (gn.tag === 0x81) id.emails.push(v);
        else if (gn.tag === 0x82) id.dnsNames.push(v);
        else if (gn.tag === 0x86) id.uris.push(v);
      }
    }
  }
  return id;
}

/** nats-server's DN of a certificate subject: RDNs reversed, attributes within each reversed. */
function ldapDn(rdns: RawRdns): Dn | null {
  const out: Dn = [];
  for (let r = rdns.length - 1; r >= 0; r--) {
    const rdn = rdns[r]!;
    if (rdn.length === 0) continue;
    const attrs: DnAttribute[] = [];
    for (let j = rdn.length - 1; j >= 0; j--) {
      const a = rdn[j]!;
      const type = LDAP_NAMES.get(a.oid);
      if (type === undefined || a.value === null) return null;
      attrs.push({ type, value: a.value });
    }
    out.push(attrs);
  }
  return out;
}

// ---- RFC 4514 DNs, as nats-server's internal/ldap reads them --------------------------------

/** Parse a DN string ("CN=alice, OU=eng, O=gnat"); null when it is not one. */
export function parseDn(str: string): Dn | null {
  const dn: Dn = [];
  let rdn: DnAttribute[] = [];
  let type = "";
  let buf: number[] = [];
  let trailingSpaces = 0;
  let escaping = false;
  const bytes = Buffer.from(str, "utf8");
  const take = (): string => {
    const s = Buffer.from(buf.slice(0, buf.length - trailingSpaces)).toString("utf8");
    buf = [];
    trailingSpaces = 0;
    return s;
  };
  const HEX = /^[0-9a-fA-F]{2}$/;
  for (let i = 0; i < bytes.length; i++) {
    const ch = bytes[i]!;
    const c = String.fromCharCode(ch);
    if (escaping) {
      trailingSpaces = 0;
      escaping = false;
      if (" \"#+,;<=>\\".includes(c)) {
        buf.push(ch);
        continue;
      }
      const pair = bytes.subarray(i, i + 2).toString("latin1");
      if (!HEX.test(pair)) return null;
      buf.push(Number.parseInt(pair, 16));
      i++;
    } else if (c === "\\") {
      trailingSpaces = 0;
      escaping = true;
    } else if (c === "=") {
      type = take();
      if (bytes[i + 1] === 0x23) return null; // '#': BER-encoded values are not supported there either
    } else if (c === "," || c === "+") {
      if (type === "") return null;
      rdn.push({ type, value: take() });
      type = "";
      if (c === ",") {
        dn.push(rdn);
        rdn = [];
      }
    } else if (c === " " && buf.length === 0) {
      continue;
    } else {
      trailingSpaces = c === " " ? trailingSpaces + 1 : 0;
      buf.push(ch);
    }
  }
  if (buf.length > 0) {
    if (type === "") return null;
    rdn.push({ type, value: take() });
    dn.push(rdn);
  }
  return dn;
}

function attrEqual(a: DnAttribute, b: DnAttribute): boolean {
  return a.value === b.value && a.type.toLowerCase() === b.type.toLowerCase();
}

function rdnEqual(a: DnAttribute[], b: DnAttribute[]): boolean {
  return a.length === b.length && a.every((x) => b.some((y) => attrEqual(x, y))) && b.every((y) => a.some((x) => attrEqual(x, y)));
}

/** distinguishedNameMatch: same RDNs in the same order. */
export function dnEqual(a: Dn, b: Dn): boolean {
  return a.length === b.length && a.every((r, i) => rdnEqual(r, b[i]!));
}

/** The same RDNs in any order. */
export function dnRdnsMatch(a: Dn, b: Dn): boolean {
  if (a.length !== b.length) return false;
  const used = new Array<boolean>(b.length).fill(false);
  for (const r of a) {
    const j = b.findIndex((o, k) => !used[k] && rdnEqual(r, o));
    if (j < 0) return false;
    used[j] = true;
  }
  return true;
}

/**
 * The name of the configured user this certificate maps to, or null. `names` are the user names
 * of `authorization { users }`, in configuration order.
 */
export function mapCertToUser(id: CertIdentity, names: readonly string[]): string | null {
  const known = new Set(names);
  for (const list of [id.emails, id.dnsNames, id.uris]) {
    for (const n of list) if (known.has(n)) return n;
  }
  if (id.dn !== null) {
    const parsed: [string, Dn][] = [];
    for (const n of names) {
      const dn = parseDn(n);
      if (dn === null) continue;
      if (dnEqual(dn, id.dn)) return n;
      parsed.push([n, dn]);
    }
    for (const [n, dn] of parsed) if (dnRdnsMatch(dn, id.dn)) return n;
  }
  if (id.domainComponents !== "") {
    const withDcs = `${id.subject},${id.domainComponents}`;
    if (known.has(withDcs)) return withDcs;
  }
  if (id.subject !== "" && known.has(id.subject)) return id.subject;
  return null;
}
