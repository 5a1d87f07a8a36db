import {
  DEFAULT_GROWING_LIMIT,
  DEFAULT_MIN_COUNT_DELTA,
  DEFAULT_MIN_SIZE_DELTA_BYTES,
  type DiffProgress,
  diffSnapshots,
  type HeapDiff,
} from '../analysis/heap/index.js';
import { MemwardenError } from '../errors.js';
import { type Column, renderTable } from '../ui/index.js';
import { formatBytes, parseSize } from '../units/index.js';
import { parseCommandArgs, printJson } from './args.js';
import type { Command } from './command.js';
import { parseCountFlag } from './flags.js';

const HELP = `Usage: memwarden diff <a.heapsnapshot> <b.heapsnapshot> [c.heapsnapshot] [options]

Objects that grew between V8 heap snapshots of one process, by constructor, with the shortest
path from a GC root to one new object. With three snapshots, the 3-snapshot technique: objects
allocated between the first and the second that are still alive in the third.

Options:
  --min-count <n>      report a class only if it grew by at least n objects (default ${DEFAULT_MIN_COUNT_DELTA})
  --min-size <size>    ... and by at least this many bytes, e.g. 64KiB (default ${formatBytes(DEFAULT_MIN_SIZE_DELTA_BYTES)})
  --limit <n>          list at most n classes (default ${DEFAULT_GROWING_LIMIT})
  --json               one JSON object: { technique, snapshots, growing: [{ name, countDelta,
                       sizeDelta, retainedSizeDelta, retainers }], omitted }
  -h, --help           this help
`;

export const diffCommand: Command = {
  name: 'diff',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      json: { type: 'boolean' },
      'min-count': { type: 'string' },
      'min-size': { type: 'string' },
      limit: { type: 'string' },
    });
    if (positionals.length !== 2 && positionals.length !== 3) {
      throw new MemwardenError('MW_USAGE', `expected 2 or 3 snapshot files, got ${positionals.length}`);
    }
    const minCountDelta = parseCountFlag('--min-count', values['min-count'], 0);
    const minSizeDeltaBytes = values['min-size'] === undefined ? undefined : parseSize(values['min-size']);
    const limit = parseCountFlag('--limit', values.limit, 0);
    const progress = process.stderr.isTTY ? new ProgressLine() : undefined;
    let diff: HeapDiff;
    try {
      diff = await diffSnapshots(positionals, {
        onProgress: (p) => progress?.update(p),
        minCountDelta,
        minSizeDeltaBytes,
        limit,
      });
    } finally {
      progress?.clear();
    }
    if (values.json) printJson(diff);
    else process.stdout.write(renderDiff(diff, minCountDelta, minSizeDeltaBytes));
  },
};

/** One line on a terminal, rewritten in place at most every 100 ms. */
class ProgressLine {
  private lastWriteMs = 0;

  update(p: DiffProgress): void {
    const nowMs = performance.now();
    if (nowMs - this.lastWriteMs < 100 && p.bytesRead < p.totalBytes) return;
    this.lastWriteMs = nowMs;
    const percent = p.totalBytes > 0 ? Math.floor((p.bytesRead / p.totalBytes) * 100) : 100;
    process.stderr.write(
      `\r\x1b[Kreading snapshot ${p.snapshotIndex + 1}/${p.snapshotCount} ${p.path}: ${percent}% of ${formatBytes(p.totalBytes)}`,
    );
  }

  clear(): void {
    process.stderr.write('\r\x1b[K');
  }
}

function signed(text: string, value: number): string {
  return value > 0 ? `+${text}` : text;
}

export function renderDiff(diff: HeapDiff, minCountDelta?: number, minSizeDeltaBytes?: number): string {
  const lines: string[] = [];
  lines.push(
    diff.technique === 'three-snapshot'
      ? 'Objects allocated between snapshots 1 and 2 and still alive in 3:'
      : 'Growth from snapshot 1 to snapshot 2:',
  );
  diff.snapshots.forEach((s, i) => {
    lines.push(
      `  ${i + 1}. ${s.path}  ${s.nodeCount} objects, ${formatBytes(s.selfSizeBytes)} (file ${formatBytes(s.fileSizeBytes)})`,
    );
  });
  lines.push('');
  if (diff.growing.length === 0) {
    const count = minCountDelta ?? DEFAULT_MIN_COUNT_DELTA;
    const bytes = formatBytes(minSizeDeltaBytes ?? DEFAULT_MIN_SIZE_DELTA_BYTES);
    lines.push(`No class grew by ${count} objects and ${bytes} or more.`);
    return `${lines.join('\n')}\n`;
  }
  const columns: Column<HeapDiff['growing'][number]>[] = [
    { header: 'CLASS', value: (g) => g.name },
    { header: 'COUNT Δ', value: (g) => signed(String(g.countDelta), g.countDelta), align: 'right' },
    { header: 'SIZE Δ', value: (g) => signed(formatBytes(g.sizeDelta), g.sizeDelta), align: 'right' },
    { header: 'RETAINED Δ', value: (g) => formatBytes(g.retainedSizeDelta), align: 'right' },
  ];
  const table = renderTable(diff.growing, columns, undefined, (g) =>
    g.retainers.length > 0 ? [`    held by: ${g.retainers.join(' → ')}`] : [],
  );
  lines.push(table.slice(0, -1));
  if (diff.omitted > 0) lines.push(`… and ${diff.omitted} more (see --limit)`);
  return `${lines.join('\n')}\n`;
}
