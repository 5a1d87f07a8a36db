import { isMemwardenError, MemwardenError } from '../errors.js';
import { collectGarbage, type GcResult, trimMemory } from '../runtimes/index.js';
import { printable } from '../ui/index.js';
import { formatBytes, formatDuration, parseDuration } from '../units/index.js';
import { parseCommandArgs, printJson } from './args.js';
import type { Command } from './command.js';
import { pidOfTarget, resolveTargets } from './targets.js';

const HELP = `Usage: memwarden gc <PID|PATTERN>… [--json] [--timeout DURATION] [--trim]

Makes each target's own runtime give memory back, and prints its RSS before and after (and, for
Node.js, the V8 heap used and total), and the time taken. A PID is that process; a PATTERN
selects what 'memwarden ps PATTERN' would. Targets are handled one after another.

Node.js: a full garbage collection through the inspector. The executable is checked to be Node
before any signal; the inspector is opened with SIGUSR1, used only once its listening socket is
verified to belong to the target, and closed again. An inspector that was already open is used
and left open.

Python: gc.collect() inside the live interpreter, through its memwarden agent if it runs one
(python -m memwarden_agent), else sys.remote_exec (Python 3.14+), else an lldb injection bounded
by the timeout and followed by a check that the target runs on.

Native (glibc): --trim calls malloc_trim(0) inside the process through lldb. It is intrusive (it
stops the process for the call), so it is never done without the flag.

Options:
  --json               one JSON array, one object per target
  --timeout DURATION   for each target, activation to close (default 10s; 30s with lldb)
  --trim               malloc_trim(0) instead of a garbage collection (native processes)
`;

type Outcome = ({ ok: true } & GcResult) | { ok: false; pid: number; code: string; error: string };

function change(before: number | undefined, after: number | undefined): string {
  if (before === undefined || after === undefined) return `${formatBytes(before)} → ${formatBytes(after)}`;
  const delta = after - before;
  return `${formatBytes(before)} → ${formatBytes(after)} (${delta <= 0 ? '-' : '+'}${formatBytes(Math.abs(delta))})`;
}

function describe(r: GcResult): string {
  const runtime = r.version ? `${r.runtime} ${r.version}` : r.runtime;
  const parts = [`pid ${r.pid} ${runtime}: RSS ${change(r.rssBefore, r.rssAfter)}`];
  if (r.heapUsedBefore !== undefined) {
    parts.push(
      `heap used ${change(r.heapUsedBefore, r.heapUsedAfter)} of ${formatBytes(r.heapTotalBefore)} → ${formatBytes(r.heapTotalAfter)}`,
    );
  }
  parts.push(`${formatDuration(r.durationMs)} via ${printable(r.via)}`);
  return parts.join(', ');
}

export const gcCommand: Command = {
  name: 'gc',
  summary: "make a process's runtime release memory now (Node.js, Python; malloc_trim with --trim)",
  help: HELP,
  async run(args) {
    const { values, positionals } = parseCommandArgs('gc', args, {
      json: { type: 'boolean' },
      timeout: { type: 'string' },
      trim: { type: 'boolean' },
    });
    if (positionals.length === 0) throw new MemwardenError('MW_USAGE', 'gc: a PID or PATTERN is required');
    const timeoutMs = values.timeout === undefined ? undefined : parseDuration(values.timeout);
    const targets = resolveTargets(positionals);
    const outcomes: Outcome[] = [];
    for (const target of targets) {
      try {
        const result = await (values.trim ? trimMemory : collectGarbage)(target, { timeoutMs });
        outcomes.push({ ok: true, ...result });
        if (!values.json) process.stdout.write(`${describe(result)}\n`);
      } catch (err) {
        if (!isMemwardenError(err)) throw err;
        const pid = pidOfTarget(target);
        outcomes.push({ ok: false, pid, code: err.code, error: err.message });
        process.stderr.write(`memwarden gc: ${err.message}\n`);
      }
    }
    if (values.json) {
      printJson(outcomes.map((o) => (o.ok ? { ...o, durationMs: Math.round(o.durationMs) } : o)));
    }
    if (outcomes.some((o) => !o.ok)) process.exitCode = 1;
  },
};
