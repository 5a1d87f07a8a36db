import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProcessSample } from '../../src/sample/index.js';
import { quickConfig } from '../../src/watch/quick.js';
import { eventRecord, systemRecord, TickJsonLines } from '../../src/watch/report-lines.js';
import { type Cycle, Watcher } from '../../src/watch/watcher.js';
import { pidOf, start, waitForExec } from '../helpers/processes.js';
import { SYSTEM } from '../helpers/samples.js';

const round = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 100) / 100);

/** The lines as JSON.stringify writes the records, one object literal each: what the encoder must match. */
function stringified(tick: Cycle): string {
  const time = new Date(tick.time).toISOString();
  const records: object[] = [systemRecord(time, tick.cycle, tick.system)];
  for (const target of tick.targets) {
    for (const p of target.processes) {
      records.push({
        time,
        kind: 'process',
        cycle: tick.cycle,
        target: target.name,
        pid: p.pid,
        cmdline: p.cmdline,
        cpuPercent: round(p.cpuPercent),
        memPercent: round(p.memPercent),
        rss: p.rss,
        pss: p.pss,
        memLimitPercent: round(p.memLimitPercent),
        startTime: new Date(p.startTime).toISOString(),
      });
    }
  }
  for (const e of tick.events) records.push(eventRecord(time, e));
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}

describe('TickJsonLines', () => {
  it('writes the same bytes as JSON.stringify of each record, cycle after cycle', async () => {
    const marker = 'memwarden-json-"lines"\\ é\t';
    const child = start('bash', ['-c', `exec -a '${marker}' sleep 300`]);
    await waitForExec(pidOf(child), 'memwarden-json');
    const watcher = new Watcher(
      quickConfig({ patterns: ['memwarden-json'], intervalMs: 1000, storePath: false, gcAbove: '1KB' }),
    );
    const lines = new TickJsonLines();
    let events = 0;
    for (let i = 0; i < 3; i++) {
      const tick = watcher.tick();
      events += tick.events.length;
      assert.equal(tick.targets[0]?.processes.length, 1);
      assert.equal(lines.encode(tick), stringified(tick));
    }
    assert.ok(events > 0, 'the rule fired, so an event line was compared too');
    watcher.close();
  });

  it('redoes the kept parts of a process whose command line or start changed', () => {
    const sample = (fields: Partial<ProcessSample>): ProcessSample => ({
      pid: 40,
      ppid: 1,
      name: 'w',
      cmdline: ['w', '--a'],
      state: 'S',
      uid: 0,
      user: 'root',
      startTicks: 500,
      startTime: 1_700_000_000_000,
      cpuTicks: 1,
      cpuReadMs: 0,
      threads: 1,
      kernelThread: false,
      time: 1_700_000_100_000,
      ...fields,
    });
    const tick = (cycle: number, processes: ProcessSample[]): Cycle => ({
      cycle,
      time: 1_700_000_100_000 + cycle * 1000,
      durationMs: 1,
      wake: 'interval',
      system: SYSTEM,
      targets: [
        { name: 'a"b', processes },
        { name: 'other', processes: processes.slice(0, 1) },
      ],
      events: [],
      oomKills: [],
      trends: new Map(),
    });
    const lines = new TickJsonLines();
    // One array, as the reader hands the same one while a command line holds.
    const argv = ['w', '--b'];
    const ticks = [
      tick(1, [sample({ rss: 4096 }), sample({ pid: 41, memPercent: Number.NaN })]),
      tick(2, [sample({ cpuPercent: 1.234567, rss: 4096, pss: 2048, memLimitPercent: 7.123456 })]),
      tick(3, [sample({ cmdline: ['w', '--b'], cpuPercent: -0.001 })]),
      tick(4, [sample({ startTicks: 900, startTime: 1_700_000_050_000, cmdline: argv })]),
      // The same values again (a line kept whole), then one value moves.
      tick(5, [sample({ startTicks: 900, startTime: 1_700_000_050_000, cmdline: argv })]),
      tick(6, [sample({ startTicks: 900, startTime: 1_700_000_050_000, cmdline: argv, rss: 8192 })]),
    ];
    for (const t of ticks) assert.equal(lines.encode(t), stringified(t));
  });
});
