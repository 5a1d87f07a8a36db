import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { errnoCode, MemwardenError } from '../errors.js';
import { requireParentDirectory } from '../output-path.js';
import { openHistory } from '../store/index.js';
import { renderReport, storeHistory } from '../ui/index.js';
import { parseDuration } from '../units/index.js';
import { parseCommandArgs } from './args.js';
import type { Command } from './command.js';
import { STORE_HELP, STORE_OPTIONS, storePathFor } from './store-path.js';

const HELP = `Usage: memwarden report [--since DURATION] [-o FILE] [--store PATH | -c FILE]

Writes one self-contained HTML file (charts and data inlined, nothing fetched when opened) with
the machine's memory and CPU, each target's memory over time, its peak, last value and growth,
the leak verdict, and the events of the range.

Options:
  --since DURATION   how far back (default 24h)
  -o, --output FILE  where to write, in a directory that exists (default memwarden-report.html)
${STORE_HELP}
  --title TEXT       the report's title
`;

export const reportCommand: Command = {
  name: 'report',
  help: HELP,
  async run(args) {
    const { values } = parseCommandArgs(args, {
      since: { type: 'string' },
      output: { type: 'string', short: 'o' },
      ...STORE_OPTIONS,
      title: { type: 'string' },
    });
    const sinceMs = Date.now() - parseDuration(values.since ?? '24h');
    const output = values.output ?? 'memwarden-report.html';
    requireParentDirectory(output, 'report');
    const store = openHistory(await storePathFor(values));
    let html: string;
    try {
      html = await renderReport(storeHistory(store), {
        sinceMs,
        ...(values.title ? { title: values.title } : {}),
      });
    } finally {
      store.close();
    }
    // Written beside the target and renamed over it: a failure never leaves half a report.
    const partial = `${output}.${process.pid}.tmp`;
    try {
      writeFileSync(partial, html, { mode: 0o644 });
      renameSync(partial, output);
    } catch (err) {
      rmSync(partial, { force: true });
      throw new MemwardenError('MW_FAILED', `cannot write ${output}: ${errnoCode(err) ?? String(err)}`);
    }
    process.stderr.write(`memwarden report: wrote ${output}\n`);
  },
};
