import { type RuntimeProbes, timeout } from '../probe.js';
import { nativeProbes, nativeTrim } from './trim.js';

/** Native (glibc): only `malloc_trim(0)`, through lldb, and only when asked for explicitly. */
export const nativeRuntimeProbes: RuntimeProbes = {
  async trim(target, options) {
    const r = await nativeTrim(target.pid, { intrusive: true, expect: target, ...timeout(options) });
    return { via: 'malloc_trim(0) through lldb', details: { released: r.released } };
  },
  availability(target) {
    const n = nativeProbes(target.pid);
    return [
      {
        probe: 'gc',
        possible: false,
        reason: 'a native process has no garbage collector (trim calls malloc_trim)',
      },
      { probe: 'snapshot', possible: false, reason: 'no heap snapshot for native processes' },
      {
        probe: 'trim',
        possible: n.trim.available,
        reason: n.trim.reason ?? `malloc_trim in ${n.glibc ?? 'glibc'}`,
      },
    ];
  },
};
