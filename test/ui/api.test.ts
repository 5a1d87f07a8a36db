import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DashboardServer, LiveHistory } from '../../src/ui/index.js';
import { fakeProcess, fakeTick } from '../helpers/ticks.js';

describe('dashboard JSON API', () => {
  let server: DashboardServer;
  let base = '';
  const now = Date.now();

  before(async () => {
    const history = new LiveHistory(100);
    for (let i = 0; i < 10; i++) {
      history.push(
        fakeTick(
          [
            {
              name: 'api',
              processes: [
                fakeProcess(1, { rss: 100 + i, pss: 50, cpuPercent: 10 }),
                fakeProcess(2, { rss: 200, cpuPercent: 20, cmdline: ['db', '--token=s3cret'] }),
              ],
              trend: { verdict: 'no-leak', slopeBytesPerSecond: 0 },
            },
          ],
          now - (10 - i) * 1000,
        ),
      );
    }
    history.addEvent({ time: now - 5000, kind: 'rule.firing', target: 'api', pid: 1, message: 'rss high' });
    history.addEvent({ time: now - 4000, kind: 'action.gc', target: 'other', message: 'gc done' });
    server = await DashboardServer.start({ port: 0, history });
    server.publish(history.latest() ?? fakeTick([]));
    base = `http://127.0.0.1:${server.port}/api`;
  });
  after(() => server.close());

  async function get(path: string): Promise<unknown> {
    const res = await fetch(`${base}${path}`);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    return res.json();
  }

  it('lists targets with their latest trend', async () => {
    assert.deepEqual(await get('/targets'), [
      { name: 'api', trend: { verdict: 'no-leak', slopeBytesPerSecond: 0 } },
    ]);
  });

  it('gives a target series summed per time, within the asked range', async () => {
    const body = (await get(`/series?target=api&since=${now - 5500}&until=${now}&points=1000`)) as {
      points: { time: number; rss: number; pss?: number; cpuPercent: number; processes: number }[];
    };
    assert.equal(body.points.length, 5);
    const last = body.points[body.points.length - 1];
    // Pid 2 has no PSS: a sum of one member's would look smaller than the group is, so none.
    assert.deepEqual(last && { rss: last.rss, pss: last.pss, cpu: last.cpuPercent, n: last.processes }, {
      rss: 309,
      pss: undefined,
      cpu: 30,
      n: 2,
    });
  });

  it("gives a line per member, biggest first, aligned with the series' times", async () => {
    const body = (await get(`/series?target=api&since=${now - 5500}&until=${now}&points=1000`)) as {
      points: { time: number }[];
      members: { pid: number; rss: (number | null)[] }[];
    };
    assert.deepEqual(
      body.members.map((m) => m.pid),
      [2, 1],
    );
    assert.deepEqual(body.members[0]?.rss, [200, 200, 200, 200, 200]);
    assert.deepEqual(body.members[1]?.rss, [105, 106, 107, 108, 109]);
    assert.equal(body.members[1]?.rss.length, body.points.length);
  });

  it('gives the machine series and events, newest first, filtered by target', async () => {
    const system = (await get(`/system?since=${now - 60_000}`)) as { points: unknown[] };
    assert.equal(system.points.length, 10);
    const all = (await get(`/events?since=${now - 60_000}`)) as { events: { kind: string }[] };
    assert.deepEqual(
      all.events.map((e) => e.kind),
      ['action.gc', 'rule.firing'],
    );
    const api = (await get(`/events?since=${now - 60_000}&target=api`)) as { events: { kind: string }[] };
    assert.deepEqual(
      api.events.map((e) => e.kind),
      ['rule.firing'],
    );
  });

  it('gives the live tick with command lines redacted and bounded', async () => {
    const live = (await get('/live')) as { targets: { processes: { pid: number; command: string }[] }[] };
    const db = live.targets[0]?.processes.find((p) => p.pid === 2);
    assert.equal(db?.command, 'db --token=***');
  });

  it('answers unknown API paths and bad parameters with 4xx JSON', async () => {
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(`${base}/series`)).status, 400);
    const bad = await fetch(`${base}/series?target=api&points=lots`);
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /points must be/);
  });
});
