import { MemwardenError } from '../errors.js';
import { type SnapshotProgress, takeSnapshot } from '../runtimes/index.js';
import { formatBytes, formatDuration, parseDuration } from '../units/index.js';
import { parseCommandArgs, printJson } from './args.js';
import type { Command } from './command.js';
import { parsePid } from './targets.js';

const HELP = `Usage: memwarden snapshot <PID> [-o FILE] [--json] [--timeout DURATION]

Captures a heap snapshot of a running process. Node.js: a V8 .heapsnapshot (open it in Chrome
DevTools or with 'memwarden diff'), streamed through the inspector, which is opened and closed as
for 'memwarden gc'. The file is written under a temporary name and renamed when complete, with
mode 0600: it holds whatever the process's heap holds. Python: type counts with their sizes and
the tracemalloc allocation sites, as JSON (tracemalloc starts with the first snapshot, so the
sites mean most from the second one on), taken as for 'memwarden gc'.

Options:
  -o, --output FILE    where to write (default memwarden-<pid>-<time>.heapsnapshot or .json here)
  --json               print the result as JSON
  --timeout DURATION   activation to close (default 2m)
  --progress           report progress on stderr even when it is not a terminal
On a terminal, progress is one line on stderr that rewrites itself and is gone at the end.
`;

/**
 * Progress on stderr: on a terminal one line rewritten in place and erased at the end; elsewhere
 * nothing (a log or a pipe wants no percentages), unless asked for, then a line per tenth.
 */
function progressPrinter(asked: boolean): { update(p: SnapshotProgress): void; end(): void } {
  const tty = process.stderr.isTTY;
  let lastTenth = -1;
  let drawn = false;
  return {
    update({ done, total }) {
      if (total <= 0) return;
      const percent = Math.min(100, Math.floor((done / total) * 100));
      if (tty) {
        process.stderr.write(`\r\x1b[Ksnapshot: ${percent}%`);
        drawn = true;
      } else if (asked && Math.floor(percent / 10) > lastTenth) {
        lastTenth = Math.floor(percent / 10);
        process.stderr.write(`snapshot: ${percent}%\n`);
      }
    },
    end() {
      if (drawn) process.stderr.write('\r\x1b[K');
    },
  };
}

export const snapshotCommand: Command = {
  name: 'snapshot',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      output: { type: 'string', short: 'o' },
      json: { type: 'boolean' },
      timeout: { type: 'string' },
      progress: { type: 'boolean' },
    });
    if (positionals.length !== 1 || positionals[0] === undefined) {
      throw new MemwardenError('MW_USAGE', 'exactly one PID is required');
    }
    const pid = parsePid(positionals[0], 'snapshot');
    const timeoutMs = values.timeout === undefined ? 120_000 : parseDuration(values.timeout);
    const progress = progressPrinter(values.progress ?? false);
    let result: Awaited<ReturnType<typeof takeSnapshot>>;
    try {
      result = await takeSnapshot(pid, values.output, { timeoutMs, onProgress: progress.update });
    } finally {
      progress.end();
    }
    if (values.json) {
      printJson({ ...result, durationMs: Math.round(result.durationMs) });
      return;
    }
    process.stdout.write(
      `${result.path}: ${formatBytes(result.bytes)} from pid ${pid} in ${formatDuration(result.durationMs)}\n`,
    );
  },
};
