import { hostname } from 'node:os';
import type { ActionContext } from './spec.js';

/**
 * The JSON body of a webhook: the event and the process as the rule saw it (its command line
 * redacted, as every sample's is). Process strings are untrusted; JSON encoding is what keeps them inert here.
 */
export function webhookPayload(context: ActionContext, wallMs: number): Record<string, unknown> {
  const { sample } = context;
  return {
    time: isoTime(wallMs),
    host: hostname(),
    target: context.target,
    rule: context.rule,
    message: context.message,
    values: context.values ?? {},
    process: {
      pid: sample.pid,
      startTicks: sample.startTicks,
      startTime: isoTime(sample.startTime),
      name: sample.name,
      cmdline: sample.cmdline,
      user: sample.user,
      state: sample.state,
      rss: sample.rss,
      vms: sample.vms,
      pss: sample.pss,
      cpuPercent: sample.cpuPercent,
      memPercent: sample.memPercent,
      memLimitPercent: sample.memLimitPercent,
      cgroup: sample.cgroup,
    },
  };
}

function isoTime(ms: number): string | undefined {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}
