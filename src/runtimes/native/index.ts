/**
 * runtimes/native: making a native (C, C++, or any glibc-allocating) process give freed heap
 * memory back to the system with `malloc_trim(0)`, called inside it through lldb. Opt-in, since it
 * runs code in the target wherever it was stopped; bounded by a timeout, one operation per pid at
 * a time, and the target is left running.
 */

export { nativeRuntimeProbes } from './adapter.js';
export {
  type NativeProbes,
  type NativeTrimOptions,
  type NativeTrimResult,
  nativeProbes,
  nativeTrim,
} from './trim.js';
