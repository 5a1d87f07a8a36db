import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/store/index.js';
import { start, waitForExit, waitForLine } from '../helpers/processes.js';
import { readRows } from '../helpers/sqlite.js';
import { tempDir } from './temp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A watcher that opens the history file and is SIGKILLed before its first flush (flushes are a
 * minute apart here): what it knew of the crash before it must already be in the file.
 */
async function openAndDie(path: string): Promise<void> {
  const child = start(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `import { openStore } from './src/store/index.ts';
       openStore(${JSON.stringify(path)}, { flushIntervalMs: 60_000, maintenanceIntervalMs: 0 });
       process.stdout.write('open\\n');
       setInterval(() => {}, 1000);`,
    ],
    { cwd: ROOT },
  );
  await waitForLine(child, /^open$/, 20_000);
  child.kill('SIGKILL');
  await waitForExit(child);
}

describe('gap markers across quick crashes (issue 10, point 10b)', () => {
  it('records one gap per crash when crashes follow each other before any flush', async () => {
    const path = join(tempDir(), 'history.db');
    await openAndDie(path);
    await openAndDie(path);
    await openAndDie(path);
    const store = openStore(path, { maintenanceIntervalMs: 0 });
    store.close();
    const gaps = readRows<{ n: number }>(path, "SELECT count(*) AS n FROM events WHERE kind = 'gap'")[0]?.n;
    assert.equal(gaps, 3, 'the second and third runs died before flushing; their gaps must still be there');
    const open = readRows<{ n: number }>(
      path,
      'SELECT count(*) AS n FROM sessions WHERE closed_at IS NULL',
    )[0]?.n;
    assert.equal(open, 0);
  });
});
