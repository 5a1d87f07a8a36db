import { writeFileSync } from 'node:fs';
import { errnoCode, MemwardenError } from '../errors.js';
import type { HistorySource } from '../ui/index.js';
import { renderReport } from '../ui/index.js';
import { parseDuration } from '../units/index.js';
import { parseCommandArgs } from './args.js';
import type { Command } from './command.js';

const HELP = `Usage: memwarden report [--since DURATION] [-o FILE] [--store PATH]

Writes one self-contained HTML file (charts and data inlined, nothing fetched when opened) with
the machine's memory and CPU, each target's memory over time, its peak, last value and growth,
the leak verdict, and the events of the range.

Options:
  --since DURATION   how far back (default 24h)
  -o, --output FILE  where to write (default memwarden-report.html)
  --store PATH       the history file written by 'memwarden watch'
  --title TEXT       the report's title
`;

/** Opens the history a report reads; the store part provides it. */
export type OpenHistory = (storePath: string | undefined) => Promise<HistorySource>;

/** The store is being built beside this command: until it is wired in, say so in one line. */
export const storeNotBuilt: OpenHistory = async () => {
  throw new MemwardenError('MW_UNSUPPORTED', 'reading a history store is not available in this build yet');
};

export function makeReportCommand(openHistory: OpenHistory): Command {
  return {
    name: 'report',
    summary: 'write a self-contained HTML report of the history',
    help: HELP,
    async run(args) {
      const { values } = parseCommandArgs('report', args, {
        since: { type: 'string' },
        output: { type: 'string', short: 'o' },
        store: { type: 'string' },
        title: { type: 'string' },
      });
      const sinceMs = Date.now() - parseDuration(values.since ?? '24h');
      const output = values.output ?? 'memwarden-report.html';
      const source = await openHistory(values.store);
      const html = await renderReport(source, { sinceMs, ...(values.title ? { title: values.title } : {}) });
      try {
        writeFileSync(output, html);
      } catch (err) {
        throw new MemwardenError('MW_FAILED', `cannot write ${output}: ${errnoCode(err) ?? String(err)}`);
      }
      process.stderr.write(`memwarden report: wrote ${output}\n`);
    },
  };
}

export const reportCommand = makeReportCommand(storeNotBuilt);
