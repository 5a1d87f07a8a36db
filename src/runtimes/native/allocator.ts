import { basename } from 'node:path';
import { executableFacts } from '../elf.js';
import { mappedFiles } from '../target-checks.js';

/** The malloc a process allocates with, as far as its mapped libraries and exports tell. */
export type AllocatorName = 'glibc' | 'jemalloc' | 'tcmalloc';

export interface Allocator {
  name: AllocatorName;
  /** The library that provides it, or the executable when it is linked in. */
  library: string;
  /** The release call as a person reads it: `malloc_trim(0)`. */
  call: string;
  /**
   * The same call as an lldb expression that yields an int, typed by hand: these libraries ship
   * without debug information, so lldb knows their symbols' addresses but not their signatures.
   */
  expression: string;
  /** Whether the expression's value says memory went back: malloc_trim 1, mallctl 0. */
  released(value: number): boolean | undefined;
}

/**
 * MALLCTL_ARENAS_ALL in jemalloc 5 (the `arena.<i>.purge` index that means every arena); jemalloc
 * 4 and older reject it with EFAULT, which is reported as not released.
 */
export const MALLCTL_ARENAS_ALL = 4096;

const JEMALLOC = /^libjemalloc\.so(\.\d+)*$/;
const TCMALLOC = /^libtcmalloc(_minimal)?(_debug)?\.so(\.\d+)*$/;

function make(name: AllocatorName, library: string): Allocator {
  switch (name) {
    case 'jemalloc':
      return {
        name,
        library,
        call: `mallctl("arena.${MALLCTL_ARENAS_ALL}.purge")`,
        expression:
          '((int (*)(const char *, void *, void *, void *, unsigned long))mallctl)' +
          `("arena.${MALLCTL_ARENAS_ALL}.purge", (void *)0, (void *)0, (void *)0, 0UL)`,
        released: (value) => value === 0,
      };
    case 'tcmalloc':
      return {
        name,
        library,
        call: 'MallocExtension_ReleaseFreeMemory()',
        // It returns nothing: the comma makes the expression an int lldb prints.
        expression: '(((void (*)(void))MallocExtension_ReleaseFreeMemory)(), 1)',
        released: () => undefined,
      };
    case 'glibc':
      return {
        name,
        library,
        call: 'malloc_trim(0)',
        expression: '(int)malloc_trim(0)',
        released: (value) => value === 1,
      };
  }
}

/**
 * Which allocator `pid` uses: a mapped libjemalloc or libtcmalloc wins (it replaces malloc for the
 * whole process), then one linked into the executable and exporting its release call, then
 * glibc's own. Undefined when none is there (musl, a static binary) or /proc will not say.
 */
export function detectAllocator(pid: number): Allocator | undefined {
  const files = mappedFiles(pid);
  if (files === undefined) return undefined;
  const jemalloc = files.find((file) => JEMALLOC.test(basename(file)));
  if (jemalloc !== undefined) return make('jemalloc', jemalloc);
  const tcmalloc = files.find((file) => TCMALLOC.test(basename(file)));
  if (tcmalloc !== undefined) return make('tcmalloc', tcmalloc);
  const linked = executableFacts(`/proc/${pid}/exe`)?.exportedAllocator;
  if (linked !== undefined) return make(linked, 'the executable');
  const glibc = files.find((file) => basename(file) === 'libc.so.6');
  return glibc === undefined ? undefined : make('glibc', glibc);
}

/** Why no allocator was found, in words for `inspect` and errors. */
export function noAllocatorReason(pid: number): string {
  const files = mappedFiles(pid);
  if (files === undefined) return 'not readable (its memory map is denied or gone)';
  if (files.some((file) => basename(file).startsWith('ld-musl'))) {
    return 'linked against musl, whose malloc has no call to give memory back';
  }
  return 'using no allocator memwarden can drive (no glibc, jemalloc or tcmalloc mapped)';
}
