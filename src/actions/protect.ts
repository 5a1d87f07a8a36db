import type { ProcessSample } from '../sample/index.js';

/**
 * Why a process must never be acted on, or undefined when it may be. pid 1 and memwarden's own
 * pid and parent are refused whatever a rule says (a `.*` match must not take the machine or the
 * watchdog down); a kernel thread ignores signals and has no runtime; a zombie is already dead,
 * so a signal or an injection has no effect and would only be reported as a false success.
 */
export function protectionReason(
  sample: Pick<ProcessSample, 'pid' | 'kernelThread' | 'state'>,
  protectedPids: ReadonlySet<number>,
): string | undefined {
  if (sample.pid === 1) return 'pid 1 is never acted on';
  if (protectedPids.has(sample.pid)) return `pid ${sample.pid} is memwarden itself or its parent`;
  if (sample.kernelThread) return `pid ${sample.pid} is a kernel thread`;
  if (sample.state === 'Z') return `pid ${sample.pid} is a zombie`;
  return undefined;
}

/** The pids protected by default: memwarden and the process that started it. */
export function ownPids(): Set<number> {
  return new Set([process.pid, process.ppid]);
}
