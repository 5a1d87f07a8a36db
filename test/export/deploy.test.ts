import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { renderMetrics } from '../../src/export/index.js';
import { fakeProcess, fakeTick } from '../helpers/ticks.js';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const PROMTOOL = '/usr/bin/promtool';

/** Every metric name memwarden can export, from a tick that exercises every optional series. */
function exportedNames(): Set<string> {
  const text = renderMetrics(
    fakeTick([
      {
        name: 'api',
        processes: [fakeProcess(1, { pss: 1, swap: 1, cpuPercent: 1, memLimitPercent: 1 })],
        trend: { verdict: 'leak', slopeBytesPerSecond: 1, timeToLimitSeconds: 1 },
      },
    ]),
  );
  const names = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] ?? ''));
  names.add('memwarden_up');
  return names;
}

function metricNamesIn(expr: string): string[] {
  return [...expr.matchAll(/\bmemwarden_[a-z0-9_]+/g)].map((m) => m[0]);
}

describe('deploy/', () => {
  it('alerting rules pass promtool check rules and their unit tests', (t) => {
    if (!existsSync(PROMTOOL)) {
      t.skip(`${PROMTOOL} is not installed (the prometheus package ships it)`);
      return;
    }
    const check = spawnSync(PROMTOOL, ['check', 'rules', 'memwarden-alerts.yml'], {
      cwd: DEPLOY,
      encoding: 'utf8',
    });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    const test = spawnSync(PROMTOOL, ['test', 'rules', 'memwarden-alerts.test.yml'], {
      cwd: DEPLOY,
      encoding: 'utf8',
    });
    assert.equal(test.status, 0, test.stdout + test.stderr);
  });

  it('the rules and the Grafana dashboard use only metrics memwarden exports', () => {
    const names = exportedNames();
    const rules = readFileSync(`${DEPLOY}memwarden-alerts.yml`, 'utf8');
    const dashboard = JSON.parse(readFileSync(`${DEPLOY}grafana-dashboard.json`, 'utf8')) as {
      panels: { targets: { expr: string }[] }[];
      templating: { list: { definition?: string }[] };
    };
    const used = [
      ...metricNamesIn(rules),
      ...dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricNamesIn(t.expr))),
      ...dashboard.templating.list.flatMap((v) => metricNamesIn(v.definition ?? '')),
    ];
    assert.ok(used.length > 10);
    assert.deepEqual(
      used.filter((n) => !names.has(n)),
      [],
    );
  });
  it('the systemd unit verifies, keeps run: targets alive on stop and its history in the state directory', (t) => {
    const unit = `${DEPLOY}memwarden.service`;
    const text = readFileSync(unit, 'utf8');
    const setting = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1];
    assert.equal(setting('KillMode'), 'process');
    assert.equal(setting('Restart'), 'on-failure');
    assert.equal(setting('ProtectSystem'), 'strict');
    assert.equal(setting('StateDirectory'), 'memwarden');
    assert.equal(setting('Environment'), 'XDG_STATE_HOME=%S');
    assert.match(setting('ExecReload') ?? '', /kill -HUP \$MAINPID/);
    if (!existsSync('/usr/bin/systemd-analyze')) {
      t.skip('systemd-analyze is not installed');
      return;
    }
    const verify = spawnSync('/usr/bin/systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr.trim(), '');
  });
});
