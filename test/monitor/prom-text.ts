// A strict parser for the Prometheus text exposition format (0.0.4), enough to check /metrics:
// prom-client writes the format but cannot read it. Throws on any line it does not understand.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function parseValue(s: string): number {
  if (s === "+Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  if (s === "NaN") return NaN;
  const v = Number(s);
  if (s === "" || Number.isNaN(v)) throw new Error(`bad sample value: ${s}`);
  return v;
}

function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < s.length) {
    const eq = s.indexOf("=", i);
    if (eq < 0) throw new Error(`bad labels: ${s}`);
    const key = s.slice(i, eq).trim();
    if (!NAME.test(key)) throw new Error(`bad label name: ${key}`);
    if (s[eq + 1] !== '"') throw new Error(`label value not quoted: ${s}`);
    let j = eq + 2;
    let v = "";
    for (; j < s.length && s[j] !== '"'; j++) {
      if (s[j] === "\\") {
        const n = s[++j];
        v += n === "n" ? "\n" : n;
      } else v += s[j];
    }
    if (j >= s.length) throw new Error(`unterminated label value: ${s}`);
    out[key] = v;
    i = j + 1;
    if (s[i] === ",") i++;
  }
  return out;
}

/** Families by name; a histogram's _bucket/_sum/_count samples belong to its family. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const familyOf = (sample: string): Family | undefined => {
    const direct = families.get(sample);
    if (direct !== undefined) return direct;
    for (const suffix of ["_bucket", "_sum", "_count"]) {
      if (sample.endsWith(suffix)) {
        const f = families.get(sample.slice(0, -suffix.length));
        if (f !== undefined && (f.type === "histogram" || f.type === "summary")) return f;
      }
    }
    return undefined;
  };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)\s*(.*)$/.exec(line);
      if (m === null) continue; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name: ${name}`);
      let f = families.get(name);
      if (f === undefined) {
        f = { name, help: "", type: "untyped", samples: [] };
        families.set(name, f);
      }
      if (kind === "HELP") f.help = rest;
      else {
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest)) throw new Error(`bad type: ${rest}`);
        f.type = rest as Family["type"];
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/.exec(line);
    if (m === null) throw new Error(`bad sample line: ${line}`);
    const name = m[1]!;
    const f = familyOf(name);
    if (f === undefined) throw new Error(`sample without a TYPE: ${name}`);
    f.samples.push({ name, labels: m[3] === undefined ? {} : parseLabels(m[3]), value: parseValue(m[4]!) });
  }
  return families;
}
