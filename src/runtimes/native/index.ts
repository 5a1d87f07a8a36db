/**
 * runtimes/native: making a process's allocator give freed heap memory back to the system —
 * glibc `malloc_trim(0)`, jemalloc `mallctl("arena.4096.purge")`, tcmalloc
 * `MallocExtension_ReleaseFreeMemory()`, told apart by the mapped libraries and the executable's
 * exports — called inside it through lldb. For native processes it is opt-in, since it runs code
 * in the target wherever it was stopped; Node.js uses it after a collection. Bounded by a timeout,
 * one operation per pid at a time, and the target is left running.
 */

export { heapTrimAvailability, heapTrimStep, nativeRuntimeProbes } from './adapter.js';
export {
  type Allocator,
  type AllocatorName,
  detectAllocator,
  MALLCTL_ARENAS_ALL,
  noAllocatorReason,
} from './allocator.js';
export {
  type NativeProbes,
  type NativeTrimOptions,
  type NativeTrimResult,
  nativeProbes,
  nativeTrim,
} from './trim.js';
