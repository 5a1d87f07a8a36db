import { isMemwardenError, MemwardenError } from '../errors.js';
import { collectGarbage, type GcResult, releaseLine, stepLine, trimMemory } from '../runtimes/index.js';
import { printable } from '../ui/index.js';
import { formatDuration, parseDuration } from '../units/index.js';
import { parseCommandArgs, printJson } from './args.js';
import type { Command } from './command.js';
import { pidOfTarget, resolveTargets } from './targets.js';

const HELP = `Usage: memwarden gc <PID|PATTERN>… [--json] [--timeout DURATION] [--trim] [--collect-only]

Makes each target give memory back to the operating system, and prints, step by step, what came
back: RSS before, after the runtime's collection, after the allocator's trim, and what each step
freed; the V8 heap or the Python objects collected; the time taken; and, when little came back,
the likely reason. A PID is that process; a PATTERN selects what 'memwarden ps PATTERN' would.
Targets are handled one after another.

A collection frees objects, not pages: the allocator (glibc malloc) keeps the freed chunks in its
heap until malloc_trim hands them back. So gc does both, in one visit:

Node.js: 1. a full garbage collection through the inspector (the executable is checked to be
Node before any signal; the inspector is opened with SIGUSR1, used only once its listening
socket is verified to belong to the target, and closed again; one already open is left open).
2. malloc_trim(0) (or jemalloc's/tcmalloc's call, if the process uses one) through lldb, which
needs ptrace rights: where they are missing, the result says what the GC freed and why the heap
was not trimmed.

Python: gc.collect() and then malloc_trim(0) (or the allocator's call) through ctypes, in the
same code run inside the interpreter: through its memwarden agent if it runs one (no ptrace
needed), else sys.remote_exec (Python 3.14+), else an lldb injection bounded by the timeout and
followed by a check that the target runs on. Small objects (≤ 512 bytes) live in pymalloc's
arenas, which go back only when wholly empty.

Native: --trim asks the process's allocator, found from its mapped libraries and exports: glibc
malloc_trim(0), jemalloc mallctl("arena.4096.purge") (every arena; redis-server links it),
tcmalloc MallocExtension_ReleaseFreeMemory(), through lldb. It stops the process for the call,
so it is never done without the flag. musl and static binaries have nothing to call.

Options:
  --json               one JSON array, one object per target, with each step's own fields
  --timeout DURATION   for each target, activation to close (default 10s; 30s with lldb)
  --trim               native processes: the allocator's trim (Node.js, Python: same as gc)
  --collect-only       the runtime's collection without the trim (to compare)
`;

type Outcome = ({ ok: true } & GcResult) | { ok: false; pid: number; code: string; error: string };

function describe(r: GcResult): string {
  const runtime = r.version ? `${r.runtime} ${r.version}` : r.runtime;
  const lines = [`pid ${r.pid} ${runtime}: ${releaseLine(r)}, in ${formatDuration(r.durationMs)}`];
  r.steps.forEach((step, i) => {
    lines.push(`  ${i + 1}. ${printable(stepLine(step))}`);
  });
  return lines.join('\n');
}

function rounded(r: GcResult): GcResult {
  return {
    ...r,
    durationMs: Math.round(r.durationMs),
    steps: r.steps.map((s) =>
      s.durationMs === undefined ? s : { ...s, durationMs: Math.round(s.durationMs) },
    ),
  };
}

export const gcCommand: Command = {
  name: 'gc',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      json: { type: 'boolean' },
      timeout: { type: 'string' },
      trim: { type: 'boolean' },
      'collect-only': { type: 'boolean' },
    });
    if (values.trim && values['collect-only']) {
      throw new MemwardenError('MW_USAGE', '--trim and --collect-only exclude each other');
    }
    if (positionals.length === 0) throw new MemwardenError('MW_USAGE', 'a PID or PATTERN is required');
    const timeoutMs = values.timeout === undefined ? undefined : parseDuration(values.timeout);
    const targets = resolveTargets(positionals);
    const outcomes: Outcome[] = [];
    for (const target of targets) {
      try {
        const options = { timeoutMs, ...(values['collect-only'] ? { trim: false } : {}) };
        const result = await (values.trim ? trimMemory : collectGarbage)(target, options);
        outcomes.push({ ok: true, ...result });
        if (!values.json) process.stdout.write(`${describe(result)}\n`);
        // A step that was tried and failed is a failure, though the steps before it stand.
        for (const step of result.steps) {
          if (step.error !== undefined)
            process.stderr.write(`memwarden gc: pid ${result.pid}: ${step.step} failed: ${step.error}\n`);
        }
      } catch (err) {
        if (!isMemwardenError(err)) throw err;
        const pid = pidOfTarget(target);
        outcomes.push({ ok: false, pid, code: err.code, error: err.message });
        process.stderr.write(`memwarden gc: ${err.message}\n`);
      }
    }
    if (values.json) {
      printJson(outcomes.map((o) => (o.ok ? { ok: true, ...rounded(o) } : o)));
    }
    if (outcomes.some((o) => !o.ok || o.steps.some((s) => s.error !== undefined))) process.exitCode = 1;
  },
};
