import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { runCli } from '../helpers/cli.js';
import { pidOf, start, waitForLine } from '../helpers/processes.js';

const scratch = mkdtempSync(join(tmpdir(), 'memwarden-guard-config-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));

describe('the guard: section', () => {
  it('reads scope, when, prefer, avoid, escalate and dry_run; needs no targets', () => {
    const { config, issues } = parseConfig(
      [
        'guard:',
        '  scope: { cgroup: /sys/fs/cgroup/memory/myapp }',
        '  when: available < 5% or psi.full > 20%',
        '  prefer: { patterns: [crawler.py] }',
        '  avoid: { names: [sshd, postgres] }',
        '  escalate: [gc, wait 5s, signal SIGTERM, wait 10s, signal SIGKILL]',
        '  dry_run: true',
      ].join('\n'),
      '/tmp/guard.yaml',
    );
    assert.deepEqual(issues, []);
    const guard = config?.guard;
    assert.deepEqual(guard?.scope, { kind: 'cgroup', dir: '/sys/fs/cgroup/memory/myapp' });
    assert.equal(guard?.when.source, 'available < 5% or psi.full > 20%');
    assert.deepEqual(guard?.prefer, { substrings: ['crawler.py'] });
    assert.deepEqual(guard?.avoid, { names: ['sshd', 'postgres'] });
    assert.deepEqual(
      guard?.escalate.map((s) => s.kind),
      ['gc', 'wait', 'signal', 'wait', 'signal'],
    );
    assert.equal(guard?.dryRun, true);
    assert.deepEqual(config?.targets, []);
  });

  it('points at a per-process metric in when and at a bad step', () => {
    const { issues } = parseConfig(
      ['guard:', '  when: rss > 1GB', '  escalate: [gc, wait soon]'].join('\n'),
      '/tmp/guard.yaml',
    );
    assert.deepEqual(
      issues.map((i) => [i.line, i.path, i.message.split(';')[0]]),
      [
        [2, 'guard.when', "'rss' is not a measure of the guard's scope"],
        [3, 'guard.escalate[1]', "invalid duration 'soon': expected e.g. 250ms, 10s, 5m or 2h"],
      ],
    );
    assert.equal(issues[1]?.column, 18);
  });

  it('reads the notify: section and points at a topic-less ntfy URL', () => {
    const { config, issues } = parseConfig(
      [
        'guard: { when: available < 5% }',
        'notify:',
        '  slack: https://hooks.example.org/T1',
        '  email: { smtp: 127.0.0.1:2525, from: a@example.org, to: [b@example.org] }',
        '  desktop: true',
      ].join('\n'),
      '/tmp/notify.yaml',
    );
    assert.deepEqual(issues, []);
    assert.deepEqual(config?.notify, {
      slack: 'https://hooks.example.org/T1',
      email: { host: '127.0.0.1', port: 2525, from: 'a@example.org', to: ['b@example.org'] },
      desktop: true,
    });
    const bad = parseConfig('guard: {}\nnotify:\n  ntfy: https://ntfy.sh/\n', '/tmp/notify.yaml');
    assert.deepEqual(
      bad.issues.map((i) => [i.line, i.path, i.message]),
      [[3, 'notify.ntfy', 'expected a topic URL such as https://ntfy.sh/my-alerts']],
    );
  });

  it("check prints the guard and today's ranking: preferred first, memwarden never", async () => {
    const tag = `guard-check-${process.pid}`;
    const child = start('python3', ['-c', 'import sys; print("ready", flush=True); sys.stdin.read()', tag], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    await waitForLine(child, /ready/);
    const path = join(scratch, 'check.yaml');
    writeFileSync(path, `guard:\n  when: available < 5%\n  prefer: { patterns: [${tag}] }\n`, {
      mode: 0o600,
    });
    const { code, stdout, stderr } = await runCli(['check', '-c', path, '--json']);
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout) as {
      guard: {
        description: string;
        ranking: { pid: number; preferred: boolean }[];
        excluded: { pid: number; why: string }[];
      };
    };
    assert.match(report.guard.description, /guard over the machine when 'available < 5%'/);
    assert.deepEqual(report.guard.ranking[0], {
      ...report.guard.ranking[0],
      pid: pidOf(child),
      preferred: true,
    });
    assert.ok(report.guard.excluded.some((e) => /memwarden itself or its parent/.test(e.why)));
  });
});
