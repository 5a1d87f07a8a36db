import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MetricsCache, renderMetrics } from '../../src/export/index.js';
import { fakeProcess, fakeTick } from '../helpers/ticks.js';

const PROMTOOL = '/usr/bin/promtool';
const HOSTILE = '"} 1\nfake_metric 1';

/** Sample lines as (name, labels, value), parsed the strict way: one sample per line. */
function samples(text: string): { name: string; labels: string; value: string }[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})? (\S+)$/.exec(line);
      assert.ok(m, `not a sample line: ${JSON.stringify(line)}`);
      return { name: m[1] ?? '', labels: m[2] ?? '', value: m[3] ?? '' };
    });
}

function promtoolCheck(text: string): { status: number | null; output: string } {
  const run = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('Prometheus exposition', () => {
  const tick = fakeTick([
    {
      name: 'api',
      processes: [
        fakeProcess(1, { rss: 100, pss: 80, cpuPercent: 50, memLimitPercent: 10 }),
        fakeProcess(2, { rss: 300, pss: 120, cpuPercent: 25, memLimitPercent: 30 }),
      ],
      trend: { verdict: 'leak', slopeBytesPerSecond: 1024, timeToLimitSeconds: 7200 },
    },
    { name: 'idle', processes: [] },
  ]);

  it("shows a cgroup target's own memory.current and limit, and the age of its oldest PSS", () => {
    const text = renderMetrics(
      fakeTick([
        {
          name: 'redis',
          processes: [
            fakeProcess(1, { rss: 100, pss: 80, pssAgeMs: 1500 }),
            fakeProcess(2, { rss: 50, pss: 40, pssAgeMs: 0 }),
          ],
          cgroup: { path: '/system.slice/redis.service', currentBytes: 4096, limitBytes: 8192 },
        },
      ]),
    );
    const byName = new Map(samples(text).map((s) => [`${s.name}${s.labels}`, s.value]));
    assert.equal(byName.get('memwarden_target_cgroup_memory_current_bytes{target="redis"}'), '4096');
    assert.equal(byName.get('memwarden_target_cgroup_memory_max_bytes{target="redis"}'), '8192');
    assert.equal(byName.get('memwarden_target_pss_bytes{target="redis"}'), '120');
    assert.equal(byName.get('memwarden_target_pss_age_seconds{target="redis"}'), '1.5');
  });

  it("shows a target's cgroup memory pressure: a cgroup target's own, else the highest of its processes' groups", () => {
    const line = (avg10: number, avg60: number, avg300: number) => ({ avg10, avg60, avg300, totalUs: 0 });
    const text = renderMetrics(
      fakeTick([
        {
          name: 'redis',
          processes: [fakeProcess(1, { cgroupPressure: { some: line(90, 90, 90), full: line(90, 90, 90) } })],
          cgroup: {
            path: '/system.slice/redis.service',
            pressure: { some: line(12.5, 4, 1), full: line(2, 1, 0.5) },
          },
        },
        {
          name: 'workers',
          processes: [
            fakeProcess(2, { cgroupPressure: { some: line(5, 30, 1), full: line(1, 2, 0) } }),
            fakeProcess(3, { cgroupPressure: { some: line(7, 3, 2), full: line(0, 0, 0) } }),
            fakeProcess(4),
          ],
        },
        { name: 'plain', processes: [fakeProcess(5)] },
      ]),
    );
    const byName = new Map(samples(text).map((s) => [`${s.name}${s.labels}`, s.value]));
    const ratio = (target: string, kind: string, window: string) =>
      byName.get(
        `memwarden_target_cgroup_memory_pressure_ratio{target="${target}",kind="${kind}",window="${window}"}`,
      );
    assert.equal(ratio('redis', 'some', '10s'), '0.125');
    assert.equal(ratio('redis', 'full', '300s'), '0.005');
    assert.equal(ratio('workers', 'some', '10s'), '0.07');
    assert.equal(ratio('workers', 'some', '60s'), '0.3');
    assert.equal(ratio('workers', 'full', '60s'), '0.02');
    assert.ok(![...byName.keys()].some((k) => k.includes('target="plain"') && k.includes('pressure')));
    assert.equal(text.match(/# TYPE memwarden_target_cgroup_memory_pressure_ratio /g)?.length, 1);
  });

  it('sums each target over its processes, in base units, without a pid label', () => {
    const text = renderMetrics(tick);
    const byName = new Map(samples(text).map((s) => [`${s.name}${s.labels}`, s.value]));
    assert.equal(byName.get('memwarden_target_rss_bytes{target="api"}'), '400');
    assert.equal(byName.get('memwarden_target_pss_bytes{target="api"}'), '200');
    assert.equal(byName.get('memwarden_target_processes{target="api"}'), '2');
    assert.equal(byName.get('memwarden_target_processes{target="idle"}'), '0');
    assert.equal(byName.get('memwarden_target_cpu_ratio{target="api"}'), '0.75');
    assert.equal(byName.get('memwarden_target_memory_limit_ratio{target="api"}'), '0.3');
    assert.equal(byName.get('memwarden_target_leak{target="api"}'), '1');
    assert.equal(byName.get('memwarden_target_leak_slope_bytes_per_second{target="api"}'), '1024');
    assert.equal(byName.get('memwarden_target_time_to_limit_seconds{target="api"}'), '7200');
    assert.equal(byName.get('memwarden_proc_read_errors_total{kind="denied"}'), '2');
    assert.equal(byName.get('memwarden_cycle_overruns_total'), '1');
    assert.equal(byName.get('memwarden_last_cycle_duration_seconds'), '0.0125');
    assert.equal(byName.get('memwarden_config_last_reload_success'), '1');
    assert.equal(byName.get('memwarden_system_memory_available_bytes'), String(8 * 1024 ** 3));
    assert.doesNotMatch(text, /pid=/);
    for (const name of new Set(samples(text).map((s) => s.name))) {
      assert.match(text, new RegExp(`^# HELP ${name} .+$`, 'm'));
      assert.match(text, new RegExp(`^# TYPE ${name} (gauge|counter)$`, 'm'));
    }
  });

  it('escapes a hostile name so it cannot inject a metric (scenario 37)', () => {
    const text = renderMetrics(
      fakeTick([{ name: HOSTILE, processes: [fakeProcess(1, { name: HOSTILE, cmdline: [HOSTILE] })] }]),
    );
    assert.ok(samples(text).every((s) => s.name.startsWith('memwarden_')));
    assert.match(text, /^memwarden_target_rss_bytes\{target="\\"} 1\\nfake_metric 1"\} \d+$/m);
    assert.match(renderMetrics(fakeTick([{ name: 'a\\b', processes: [] }])), /target="a\\\\b"/);
  });

  it('renders a target whose processes could not be read in part, and skips repeated names', () => {
    const errors = { count: 0 };
    const text = renderMetrics(
      fakeTick([
        {
          name: 'odd',
          processes: [
            fakeProcess(1, { rss: Number.NaN, cpuPercent: Number.POSITIVE_INFINITY }),
            fakeProcess(2, { rss: undefined, partial: ['rss'] }),
            fakeProcess(3, { rss: 4096, memLimitPercent: -1 }),
          ],
        },
        { name: 'odd', processes: [] },
      ]),
      errors,
    );
    assert.match(text, /^memwarden_target_rss_bytes\{target="odd"\} 4096$/m);
    assert.match(text, /^memwarden_target_processes\{target="odd"\} 3$/m);
    assert.equal(errors.count, 1);
    assert.match(text, /^memwarden_exposition_errors_total 1$/m);
  });

  it('leaves the leak gauges out while the detector has too little data', () => {
    const text = renderMetrics(
      fakeTick([{ name: 'new', processes: [], trend: { verdict: 'insufficient' } }]),
    );
    assert.doesNotMatch(text, /memwarden_target_leak/);
    assert.doesNotMatch(text, /time_to_limit/);
  });

  it('reports memwarden_up 0 once ticks stop', () => {
    const cache = new MetricsCache(15_000);
    assert.match(cache.text(0), /^memwarden_up 0$/m);
    cache.update(tick, 1000);
    assert.match(cache.text(2000), /^memwarden_up 1$/m);
    assert.match(cache.text(20_000), /^memwarden_up 0$/m);
    assert.match(cache.text(20_000), /memwarden_target_rss_bytes/);
  });

  it('passes promtool check metrics, hostile names included', (t) => {
    if (!existsSync(PROMTOOL)) {
      t.skip(`${PROMTOOL} is not installed (the prometheus package ships it)`);
      return;
    }
    const cache = new MetricsCache(15_000);
    cache.update(
      fakeTick([
        ...tick.targets,
        { name: HOSTILE, processes: [fakeProcess(9, { name: HOSTILE })] },
        { name: '<img src=x onerror=alert(1)>', processes: [fakeProcess(10)] },
        { name: 'x\n2026-01-01 ERROR admin logged in', processes: [] },
      ]),
    );
    const { status, output } = promtoolCheck(cache.text());
    assert.equal(status, 0, output);
    assert.equal(output.trim(), '');
  });
});
