/** `npm run bench`: every benchmark, one after the other, each printing its own ratio table. */
import { benchSweep } from './sweep.js';

const only = process.argv.slice(2);
const benches: [string, () => Promise<void>][] = [['sweep', benchSweep]];
for (const [name, run] of benches) {
  if (only.length === 0 || only.includes(name)) await run();
}
