import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { BIG_TARGET, writeBigHistory } from '../helpers/big-history.js';
import { rawRequest } from '../helpers/http.js';
import { lastCycle, startServedWatcher, waitForOutput } from '../helpers/watcher.js';
import { tempDir } from './temp.js';

/** Worker threads cannot load TypeScript sources: the reader is taken from the build. */
const DIST_STORE = new URL('../../dist/store/index.js', import.meta.url).href;
type StoreModule = typeof import('../../src/store/index.js');

/** Enough rows for a query to take several cycles of 100 ms, few enough to finish inside its 5 s. */
const ROWS = 200_000;

describe('history reads off the sampling thread (issue 10, point 6; scenario 36)', () => {
  let path: string;
  let store: StoreModule;

  before(async () => {
    path = join(tempDir(), 'big.db');
    writeBigHistory(path, ROWS);
    store = (await import(DIST_STORE)) as StoreModule;
  });

  it('answers from its own thread what the store answers', async () => {
    const reader = new store.HistoryReader(path);
    const direct = store.openHistory(path);
    try {
      const query = { target: BIG_TARGET, sinceMs: Date.now() - 3_600_000, maxPoints: 100 };
      const [threaded, targets] = await Promise.all([reader.history(query), reader.targets()]);
      assert.ok(threaded.length > 0 && threaded.length <= store.ROW_LIMIT);
      assert.deepEqual(threaded, direct.history(query));
      assert.deepEqual(
        targets.map((t) => t.target),
        [BIG_TARGET],
      );
    } finally {
      direct.close();
      await reader.close();
    }
  });

  it('stops a query past its timeout, and answers the next one from a new thread', async () => {
    const reader = new store.HistoryReader(path, { timeoutMs: 1 });
    try {
      await assert.rejects(
        reader.history({ target: BIG_TARGET, sinceMs: 0, maxPoints: 2000 }),
        (err: Error & { code?: string }) => err.code === 'MW_TIMEOUT',
      );
    } finally {
      await reader.close();
    }
    const patient = new store.HistoryReader(path);
    try {
      assert.deepEqual(
        (await patient.targets()).map((t) => t.target),
        [BIG_TARGET],
      );
    } finally {
      await patient.close();
    }
  });

  it(`keeps a watcher's cycles going while the dashboard charts ${ROWS} rows`, async () => {
    const marker = `mw-sec-web-history-${process.pid}`;
    const watcher = await startServedWatcher([
      '--match',
      marker,
      '--store',
      path,
      '--interval',
      '100ms',
      '--json',
    ]);
    await waitForOutput(watcher, () => lastCycle(watcher) >= 2, 'two cycles');
    const since = Date.now() - 3_600_000;
    const sentAt = lastCycle(watcher);
    const series = await rawRequest(watcher.port, {
      path: `/api/series?target=${BIG_TARGET}&since=${since}&points=600`,
    });
    const answeredAt = lastCycle(watcher);
    // A machine busy enough may stop the query at its 5 s timeout: then it is answered 503,
    // and the cycles still went on meanwhile, which is what this test is about.
    if (series.status === 503) assert.match(series.body, /timed out/);
    else {
      assert.equal(series.status, 200, series.body);
      assert.ok((JSON.parse(series.body) as { points: unknown[] }).points.length > 0);
    }
    // On the sampling thread the loop would stand still while the rows are read (at most the
    // cycle already under way would finish); from the reader's thread, cycles go on meanwhile.
    assert.ok(answeredAt - sentAt >= 3, `cycles ${sentAt} → ${answeredAt} while the query ran`);
  });
});
