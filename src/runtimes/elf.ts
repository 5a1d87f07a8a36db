import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const SHT_DYNSYM = 11;
/** Caps what one check reads: node's .dynstr is ~5 MB, a hostile file could claim anything. */
const DYNSTR_CAP_BYTES = 32 * 1024 * 1024;

function readAt(fd: number, offset: number, length: number): Buffer | undefined {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, offset + done);
    if (n === 0) return undefined;
    done += n;
  }
  return buffer;
}

/**
 * The string table of an ELF64 little-endian file's dynamic symbols (`.dynstr`): the names it
 * exports and imports, NUL-separated. Undefined for anything else, a stripped section table, or
 * a table larger than the cap.
 */
function readDynstr(fd: number, fileSize: number): Buffer | undefined {
  const header = readAt(fd, 0, 64);
  if (header?.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return undefined;
  const shoff = Number(header.readBigUInt64LE(0x28));
  const shentsize = header.readUInt16LE(0x3a);
  const shnum = header.readUInt16LE(0x3c);
  if (shentsize < 64 || shnum === 0 || shoff + shnum * shentsize > fileSize) return undefined;
  const table = readAt(fd, shoff, shnum * shentsize);
  if (!table) return undefined;
  for (let i = 0; i < shnum; i++) {
    const at = i * shentsize;
    if (table.readUInt32LE(at + 4) !== SHT_DYNSYM) continue;
    const link = table.readUInt32LE(at + 0x28);
    if (link >= shnum) return undefined;
    const strAt = link * shentsize;
    const offset = Number(table.readBigUInt64LE(strAt + 0x18));
    const size = Number(table.readBigUInt64LE(strAt + 0x20));
    if (size > DYNSTR_CAP_BYTES || offset + size > fileSize) return undefined;
    return readAt(fd, offset, size);
  }
  return undefined;
}

/**
 * Node exports N-API and libuv for addons to link against; no other program exports both
 * `napi_module_register` and `uv_loop_init`. Looking at the names is a few milliseconds per
 * distinct executable, and unlike the process name it cannot be set by the process.
 */
const NODE_SYMBOLS = ['napi_module_register', 'uv_loop_init'].map((s) => Buffer.from(`\0${s}\0`));

/** An allocator linked into the executable itself and exporting its release call. */
const ALLOCATOR_SYMBOLS = [
  ['jemalloc', Buffer.from('\0mallctl\0')],
  ['tcmalloc', Buffer.from('\0MallocExtension_ReleaseFreeMemory\0')],
] as const;

export interface ExecutableFacts {
  exportsNodeSymbols: boolean;
  /** An allocator whose release call the executable exports (linked in statically). */
  exportedAllocator?: 'jemalloc' | 'tcmalloc';
}

const cache = new Map<string, ExecutableFacts>();
const CACHE_CAP = 256;

/** Reads the facts about an executable through a path such as `/proc/<pid>/exe`. */
export function executableFacts(path: string): ExecutableFacts | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    const known = cache.get(key);
    if (known) return known;
    const dynstr = readDynstr(fd, st.size);
    const facts: ExecutableFacts = {
      exportsNodeSymbols: dynstr !== undefined && NODE_SYMBOLS.every((s) => dynstr.includes(s)),
    };
    const allocator = ALLOCATOR_SYMBOLS.find(([, symbol]) => dynstr?.includes(symbol))?.[0];
    if (allocator !== undefined) facts.exportedAllocator = allocator;
    if (cache.size >= CACHE_CAP) cache.clear();
    cache.set(key, facts);
    return facts;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
