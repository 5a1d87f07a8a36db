import { MemwardenError } from '../errors.js';

export interface SeriesInput {
  timeSeconds: number[];
  bytes: number[];
}

/**
 * A memory series from a file's text: a CSV with a `t,rss` header (seconds, bytes; other columns
 * ignored), or the JSON array `memwarden history --json` prints (objects with `time` in ms since
 * the epoch or `t` in seconds, and `rss` in bytes; other fields ignored). Errors name the file and
 * the line or element, so that the user can go straight to it.
 */
export function parseSeriesText(text: string, fileName: string): SeriesInput {
  const body = text.replace(/^\uFEFF/, '');
  if (looksBinary(body))
    throw inputError(
      fileName,
      'a binary file, not a series: expected a CSV with header t,rss or history JSON',
    );
  return body.trimStart().startsWith('[') ? parseHistoryJson(body, fileName) : parseCsv(body, fileName);
}

/**
 * A piece of the file as a message may show it: cut to 40 characters and quoted with every
 * control character and undecodable byte escaped, so that a binary file does not write raw
 * bytes to the terminal.
 */
function excerpt(text: string): string {
  const cut = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return JSON.stringify(cut).replace(
    /[\u007f-\u009f\ufffd]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A file that is no text at all (NUL bytes, or mostly bytes that are not UTF-8). */
function looksBinary(text: string): boolean {
  const sample = text.slice(0, 4096);
  const odd = sample.match(/[\u0000-\u0008\u000e-\u001f\ufffd]/g)?.length ?? 0;
  return sample.includes('\u0000') || odd > sample.length / 10;
}

function inputError(where: string, message: string): MemwardenError {
  return new MemwardenError('MW_INPUT', `${where}: ${message}`);
}

function parseCsv(text: string, fileName: string): SeriesInput {
  const lines = text.split(/\r?\n/);
  const headerIndex = lines.findIndex((l) => l.trim() !== '');
  if (headerIndex < 0) throw inputError(fileName, 'empty file; expected a CSV with header t,rss');
  const header = (lines[headerIndex] as string).split(',').map((h) => h.trim().toLowerCase());
  const tColumn = header.indexOf('t');
  const rssColumn = header.indexOf('rss');
  if (tColumn < 0 || rssColumn < 0) {
    const got = excerpt((lines[headerIndex] as string).trim());
    throw inputError(`${fileName}:${headerIndex + 1}`, `expected a header with columns t,rss, got ${got}`);
  }
  const series: SeriesInput = { timeSeconds: [], bytes: [] };
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '') continue;
    const fields = line.split(',');
    const where = `${fileName}:${i + 1}`;
    if (fields.length !== header.length) {
      throw inputError(where, `expected ${header.length} fields like the header, got ${fields.length}`);
    }
    series.timeSeconds.push(csvNumber(fields[tColumn], 't', where));
    series.bytes.push(csvNumber(fields[rssColumn], 'rss', where));
  }
  return series;
}

function csvNumber(field: string | undefined, column: string, where: string): number {
  const text = (field ?? '').trim();
  const value = text === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value)) throw inputError(where, `${column} value ${excerpt(text)} is not a number`);
  return value;
}

function parseHistoryJson(text: string, fileName: string): SeriesInput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // The parser's message quotes the text itself: only its first clause, then our excerpt.
    const reason = err instanceof Error ? (err.message.split(/[,(]/)[0] ?? '').trim() : String(err);
    throw inputError(fileName, `not valid JSON (${reason}) in ${excerpt(text.trimStart())}`);
  }
  if (!Array.isArray(parsed)) throw inputError(fileName, 'expected a JSON array of samples');
  const series: SeriesInput = { timeSeconds: [], bytes: [] };
  parsed.forEach((item: unknown, index) => {
    const element = `element ${index}`;
    if (typeof item !== 'object' || item === null) throw inputError(fileName, `${element} is not an object`);
    const sample = item as Record<string, unknown>;
    const rss = sample.rss;
    if (typeof rss !== 'number' || !Number.isFinite(rss))
      throw inputError(fileName, `${element} has no numeric 'rss'`);
    if (typeof sample.time === 'number' && Number.isFinite(sample.time)) {
      series.timeSeconds.push(sample.time / 1000);
    } else if (typeof sample.t === 'number' && Number.isFinite(sample.t)) {
      series.timeSeconds.push(sample.t);
    } else {
      throw inputError(fileName, `${element} has neither a numeric 'time' (ms) nor 't' (s)`);
    }
    series.bytes.push(rss);
  });
  return series;
}
