/** The fields of `/proc/<pid>/stat` that memwarden uses. */
export interface StatFields {
  name: string;
  state: string;
  ppid: number;
  flags: number;
  utimeTicks: number;
  stimeTicks: number;
  threads: number;
  startTicks: number;
  vmsBytes: number;
  rssPages: number;
}

/** PF_KTHREAD from include/linux/sched.h. */
export const PF_KTHREAD = 0x00200000;

/**
 * Parses one stat line. The name sits between the first `(` and the LAST `)`: a process can
 * call itself `a) b (c`, so splitting on spaces or the first `)` would shift every field.
 * Returns undefined for anything that does not look like a stat line.
 */
export function parseStat(text: string): StatFields | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); field N sits at rest[N - 3].
  if (rest.length < 22) return undefined;
  const field = (n: number) => Number(rest[n - 3]);
  return {
    name: text.slice(open + 1, close),
    state: rest[0] ?? '?',
    ppid: field(4),
    flags: field(9),
    utimeTicks: field(14),
    stimeTicks: field(15),
    threads: field(20),
    startTicks: field(22),
    vmsBytes: field(23),
    rssPages: field(24),
  };
}
