import { MemwardenError } from '../errors.js';
import { huntLeaks, type LeakReport } from '../runtimes/index.js';
import { type Column, printable, renderTable } from '../ui/index.js';
import { formatBytes, parseDuration } from '../units/index.js';
import { parseCommandArgs, printJson } from './args.js';
import type { Command } from './command.js';

const HELP = `Usage: memwarden leaks <PID> [--duration 30s] [--json] [--keep DIR] [--timeout DURATION]

Watches a live process's heap for a while and names what grows.

Node.js: three heap snapshots over the duration (through the inspector, as 'memwarden snapshot'),
then the objects allocated between the first and the second that are still alive in the third,
by constructor, with the path from a GC root that keeps a sample of them alive.

Python: type counts and tracemalloc twice, the duration apart (through the agent,
sys.remote_exec or lldb, as 'memwarden gc'); the types that grew and the allocation sites
(file:line) whose memory grew. tracemalloc starts with the first snapshot.

Options:
  --duration DURATION   how long to watch (default 30s, at least 2s)
  --json                one JSON object: runtime, pid, growing [{name, countDelta, sizeDelta, retainers}]
  --keep DIR            keep the Node snapshots in DIR (default: deleted)
  --timeout DURATION    for each snapshot
`;

/**
 * Below this the snapshots are a moment apart: what "grew" is what the program was doing just
 * then (a request in flight, the stack's roots), not what accumulates.
 */
const MIN_DURATION_MS = 2000;

function table(report: LeakReport): string {
  const columns: Column<LeakReport['growing'][number]>[] = [
    { header: report.runtime === 'node' ? 'CONSTRUCTOR' : 'TYPE', value: (g) => printable(g.name) },
    { header: 'COUNT', value: (g) => `+${g.countDelta}`, align: 'right' },
    { header: 'SIZE', value: (g) => `+${formatBytes(g.sizeDelta)}`, align: 'right' },
    {
      header: report.runtime === 'node' ? 'RETAINED BY' : 'GROWING ALLOCATION SITES',
      value: (g) => printable(g.retainers.join(report.runtime === 'node' ? ' → ' : ', ')),
    },
  ];
  return renderTable(report.growing, columns, process.stdout.isTTY ? process.stdout.columns : undefined);
}

export const leaksCommand: Command = {
  name: 'leaks',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      duration: { type: 'string' },
      json: { type: 'boolean' },
      keep: { type: 'string' },
      timeout: { type: 'string' },
    });
    const [pidText, ...extra] = positionals;
    if (pidText === undefined || extra.length > 0 || !/^\d+$/.test(pidText)) {
      throw new MemwardenError('MW_USAGE', 'give exactly one PID');
    }
    const durationMs = parseDuration(values.duration ?? '30s');
    if (durationMs < MIN_DURATION_MS)
      throw new MemwardenError(
        'MW_USAGE',
        `invalid --duration '${values.duration}': at least ${MIN_DURATION_MS / 1000}s, or what grows cannot be told from what the program does that moment`,
      );
    const report = await huntLeaks(Number(pidText), {
      durationMs,
      ...(values.timeout === undefined ? {} : { timeoutMs: parseDuration(values.timeout) }),
      ...(values.keep === undefined ? {} : { keepDir: values.keep }),
      onProgress: (message) => process.stderr.write(`memwarden leaks: ${message}\n`),
    });
    if (values.json) {
      printJson(report);
      return;
    }
    if (report.growing.length === 0) {
      process.stdout.write(
        `pid ${report.pid} (${report.runtime}): nothing grew over ${Math.round(report.durationMs / 1000)}s\n`,
      );
      return;
    }
    process.stdout.write(table(report));
  },
};
