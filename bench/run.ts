/** `npm run bench [NAME…]`: every benchmark (or the named ones), each printing its own table. */
import { benchCli } from './cli.js';
import { benchGroups } from './groups.js';
import { benchHeap } from './heap.js';
import { benchRegex } from './regex.js';
import { benchRelease } from './release.js';
import { benchScrape } from './scrape.js';
import { benchSweep } from './sweep.js';
import { benchTrend } from './trend.js';
import { benchWatch } from './watch.js';

const benches: [string, () => Promise<void> | void][] = [
  ['sweep', benchSweep],
  ['groups', benchGroups],
  ['trend', benchTrend],
  ['watch', benchWatch],
  ['heap', benchHeap],
  ['regex', benchRegex],
  ['release', benchRelease],
  ['scrape', benchScrape],
  ['cli', benchCli],
];
const only = process.argv.slice(2);
for (const [name, run] of benches) {
  if (only.length === 0 || only.includes(name)) await run();
}
