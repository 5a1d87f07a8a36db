import { closeSync, constants, openSync, readSync } from 'node:fs';
import { errnoCode } from '../errors.js';

/**
 * psutil's three outcomes of a read under /proc, as values instead of exceptions: the bytes,
 * `gone` (the process exited: ENOENT, ESRCH), or `denied` (EACCES, EPERM). Anything else (EIO,
 * EAGAIN…) is `failed`, counted by callers but never fatal.
 */
export type ReadOutcome = { ok: true; bytes: number } | ReadFailure;
export type ReadFailure = { ok: false; reason: 'gone' | 'denied' | 'failed'; code: string };

export function classify(err: unknown): ReadFailure {
  const code = errnoCode(err) ?? 'EUNKNOWN';
  if (code === 'ENOENT' || code === 'ESRCH') return { ok: false, reason: 'gone', code };
  if (code === 'EACCES' || code === 'EPERM') return { ok: false, reason: 'denied', code };
  return { ok: false, reason: 'failed', code };
}

/**
 * How files under /proc are opened. O_NONBLOCK changes nothing for real /proc files, but a file
 * that is not one (a FIFO planted in a fixture or a bind mount) can then never hang a sweep: its
 * open returns at once and an empty read fails with EAGAIN, counted like any other failure.
 */
export const PROC_OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/**
 * Reads a whole small file into `buffer` from offset 0, up to `length` bytes (pread, so an open
 * fd can be reused).
 */
export function preadAll(fd: number, buffer: Buffer, length = buffer.length): ReadOutcome {
  try {
    return { ok: true, bytes: readSync(fd, buffer, 0, length, 0) };
  } catch (err) {
    return classify(err);
  }
}

/** Opens, reads from offset 0 up to `length` bytes (the buffer's size), closes. */
export function readOnce(path: string, buffer: Buffer, length = buffer.length): ReadOutcome {
  let fd: number;
  try {
    fd = openSync(path, PROC_OPEN_FLAGS);
  } catch (err) {
    return classify(err);
  }
  try {
    return preadAll(fd, buffer, length);
  } finally {
    closeSync(fd);
  }
}

/**
 * One buffer for every readText: the read and the copy into a string are synchronous, so it is
 * free again on return, and each tick's /proc/stat and meminfo reads allocate nothing.
 */
let scratch = Buffer.allocUnsafe(64 * 1024);

/** Reads a small text file entirely (files under /proc report size 0, so no stat first). */
export function readText(path: string, maxBytes = 64 * 1024): string | ReadOutcome {
  if (scratch.length < maxBytes) scratch = Buffer.allocUnsafe(maxBytes);
  // The length, not a view of the buffer: a view made for each of a thousand processes' files
  // cost more than reading them.
  const outcome = readOnce(path, scratch, maxBytes);
  if (!outcome.ok) return outcome;
  return scratch.toString('latin1', 0, outcome.bytes);
}

/**
 * Reads a file to its end, up to `maxBytes`. For the /proc files that the kernel hands out a
 * page at a time (/proc/net/tcp, maps and other seq files): one read would see only the first
 * page. Opened as every /proc file is, so a FIFO bound over one answers at once (EAGAIN or EOF).
 */
export function readAllText(path: string, maxBytes: number): string | ReadFailure {
  const bytes = readAllBytes(path, maxBytes);
  return Buffer.isBuffer(bytes) ? bytes.toString('latin1') : bytes;
}

/** The same, as bytes: for files whose text is not Latin-1 (environ holds UTF-8). */
export function readAllBytes(path: string, maxBytes: number): Buffer | ReadFailure {
  let fd: number;
  try {
    fd = openSync(path, PROC_OPEN_FLAGS);
  } catch (err) {
    return classify(err);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    while (total < maxBytes) {
      const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
    }
  } catch (err) {
    return classify(err);
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(chunks, total);
}
