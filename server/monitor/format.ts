// Tested by test/monitor/monitor.test.ts and test/differential/monitor.test.ts.
// How nats-server renders times and durations in its monitoring JSON, so tools that parse its
// output (nats-top, the nats CLI, Grafana dashboards) parse gnat's too.

/** nats-server's myUptime: whole seconds as "1y2d3h4m5s", leading zero units left out. */
export function goUptime(ms: number): string {
  const tsecs = Math.max(0, Math.floor(ms / 1000));
  const tmins = Math.floor(tsecs / 60);
  const thrs = Math.floor(tmins / 60);
  const tdays = Math.floor(thrs / 24);
  const tyrs = Math.floor(tdays / 365);
  if (tyrs > 0) return `${tyrs}y${tdays % 365}d${thrs % 24}h${tmins % 60}m${tsecs % 60}s`;
  if (tdays > 0) return `${tdays}d${thrs % 24}h${tmins % 60}m${tsecs % 60}s`;
  if (thrs > 0) return `${thrs}h${tmins % 60}m${tsecs % 60}s`;
  if (tmins > 0) return `${tmins}m${tsecs % 60}s`;
  return `${tsecs}s`;
}

/** A Go time.Time in JSON: RFC 3339, UTC. Node clocks give milliseconds. */
export function goTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Go's strconv.ParseBool, which nats-server uses for query flags ("1", "t", "TRUE", …). */
export function parseGoBool(s: string): boolean | null {
  if (/^(1|t|T|TRUE|true|True)$/.test(s)) return true;
  if (/^(0|f|F|FALSE|false|False)$/.test(s)) return false;
  return null;
}
