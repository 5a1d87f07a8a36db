/** The fields of `/proc/<pid>/stat` that memwarden uses. */
export interface StatFields {
  name: string;
  state: string;
  ppid: number;
  flags: number;
  minorFaults: number;
  majorFaults: number;
  utimeTicks: number;
  stimeTicks: number;
  threads: number;
  startTicks: number;
  vmsBytes: number;
  rssPages: number;
}

/** PF_KTHREAD from include/linux/sched.h. */
export const PF_KTHREAD = 0x00200000;

const SPACE = 0x20;
const CLOSE_PAREN = 0x29;
const OPEN_PAREN = 0x28;
/**
 * Field numbers as in proc(5): ppid, flags, minflt, majflt, utime, stime, num_threads,
 * starttime, vsize, rss.
 */
const WANTED_FIELDS = [4, 9, 10, 12, 14, 15, 20, 22, 23, 24];

/** The numbers of the line being parsed: one array for every call, as parsing is synchronous. */
const scratchValues: number[] = WANTED_FIELDS.map(() => 0);

/**
 * Bytes as UTF-8 text, without a Buffer view made for each call when they are a Buffer already.
 * comm is whatever bytes the process chose (`café` is 5 of them), cut at 15 bytes, possibly in
 * the middle of a character: bytes that are not UTF-8 become U+FFFD, never an exception.
 */
function utf8(bytes: Uint8Array, start: number, end: number): string {
  if (Buffer.isBuffer(bytes)) return bytes.toString('utf8', start, end);
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
}

/**
 * Parses one stat line straight from its bytes (this runs for every process on every tick, so it
 * allocates nothing but the name). The name sits between the first `(` and the LAST `)`: a
 * process can call itself `a) b (c`, so splitting on spaces or the first `)` would shift every
 * field. Returns undefined for anything that does not look like a stat line.
 */
export function parseStat(bytes: Uint8Array, length = bytes.length): StatFields | undefined {
  const open = bytes.indexOf(OPEN_PAREN);
  let close = length - 1;
  while (close > open && bytes[close] !== CLOSE_PAREN) close--;
  if (open < 0 || close <= open || close + 2 >= length) return undefined;
  const wanted = WANTED_FIELDS;
  const values = scratchValues;
  let field = 3;
  let next = 0;
  let i = close + 2;
  const state = String.fromCharCode(bytes[i] as number);
  while (i < length && next < wanted.length) {
    if (bytes[i] === SPACE) {
      field++;
      i++;
      if (field === wanted[next]) {
        let value = 0;
        let negative = false;
        if (bytes[i] === 0x2d) {
          negative = true;
          i++;
        }
        for (let c = bytes[i] as number; c >= 0x30 && c <= 0x39; c = bytes[++i] as number)
          value = value * 10 + (c - 0x30);
        values[next++] = negative ? -value : value;
      }
      continue;
    }
    i++;
  }
  if (next < wanted.length) return undefined;
  return {
    name: utf8(bytes, open + 1, close),
    state,
    ppid: values[0] as number,
    flags: values[1] as number,
    minorFaults: values[2] as number,
    majorFaults: values[3] as number,
    utimeTicks: values[4] as number,
    stimeTicks: values[5] as number,
    threads: values[6] as number,
    startTicks: values[7] as number,
    vmsBytes: values[8] as number,
    rssPages: values[9] as number,
  };
}

/** The first two fields of `/proc/<pid>/statm`: size and resident, in pages. */
export function parseStatm(bytes: Uint8Array, length: number): { sizePages: number; residentPages: number } {
  let i = 0;
  let sizePages = 0;
  for (let c = bytes[i] as number; i < length && c >= 0x30 && c <= 0x39; c = bytes[++i] as number)
    sizePages = sizePages * 10 + (c - 0x30);
  let residentPages = 0;
  for (let c = bytes[++i] as number; i < length && c >= 0x30 && c <= 0x39; c = bytes[++i] as number)
    residentPages = residentPages * 10 + (c - 0x30);
  return { sizePages, residentPages };
}
