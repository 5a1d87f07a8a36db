import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/index.js';
import { MemwardenError } from '../../src/errors.js';

let dir = '';
let counter = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'memwarden-config-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

async function write(text: string, name = `config-${++counter}.yaml`): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text, { mode: 0o600 });
  return path;
}

async function errorsOf(text: string, options: Parameters<typeof loadConfig>[1] = {}): Promise<string[]> {
  const path = await write(text);
  try {
    await loadConfig(path, options);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'MW_CONFIG');
    assert.equal(err.exitCode, 2);
    assert.equal(
      err.message,
      err.issues
        .map((i) => `${i.file}:${i.line}:${i.column}: ${i.path}: ${i.message}`)
        .join('\n')
        .replaceAll(': : ', ': '),
    );
    return err.message.split('\n').map((line) => line.replace(`${path}:`, ''));
  }
  assert.fail('the config loaded but should not have');
}

const ROOT = process.getuid?.() === 0;

describe('config loading', () => {
  it('reads a full config into typed values', async () => {
    await mkdir(join(dir, 'state'), { recursive: true });
    const path = await write(`# the seed script's targets
interval: 5s
log: {path: memwarden.log, max_size: 20MiB}
store: state/history.db
retain: 14d
listen: 127.0.0.1:9464
targets:
  - name: crawler
    match:
      patterns: [touna0627.py, dailiip.py]
      user: 1000
    rules:
      - when: rss > 500MB for 3m
        do: [log, gc]
      - when: mem% > 40% 3 times within 5 cycles
        do: [snapshot]
        cooldown: 10m
      - when: growth > 50MB/h over 1h
        do: [webhook https://hooks.example.org/memwarden]
      - when: limit% > 90%
        do: ["signal SIGUSR2"]
  - name: redis
    match: redis-server
  - name: api
    match: {regex: '^node .*api\\.js$', children: true}
    run: [node, api.js, --port, 8080]
    restart: {max: 3, within: 10m, backoff: 2s}
    rules:
      - when: "rss > 1GiB"
        do: [log, restart]
      - when: cpu% > 150%
        do:
          - exec: [/usr/local/bin/notify, "{name}", "{pid}", "{rss}"]
            timeout: 3s
`);
    const config = await loadConfig(path, { cpuCount: 2 });
    assert.equal(config.file, path);
    assert.equal(config.intervalMs, 5000);
    assert.equal(config.retainMs, 14 * 86_400_000);
    assert.deepEqual(config.log, { path: join(dir, 'memwarden.log'), maxSizeBytes: 20 * 1024 ** 2 });
    assert.deepEqual(config.store, { enabled: true, path: join(dir, 'state/history.db') });
    assert.deepEqual(config.listen, { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(
      config.targets.map((t) => [t.name, t.match]),
      [
        ['crawler', { substrings: ['touna0627.py', 'dailiip.py'], users: ['1000'] }],
        ['redis', { substrings: ['redis-server'] }],
        ['api', { regexes: ['^node .*api\\.js$'], children: true }],
      ],
    );
    const api = config.targets[2];
    assert.deepEqual(api?.run, ['node', 'api.js', '--port', '8080']);
    assert.deepEqual(api?.restart, { max: 3, withinMs: 600_000, backoffMs: 2000, startSecsMs: 1000 });
    assert.deepEqual(
      config.rules.map((r) => [r.id, r.when.source, r.actions.map((a) => a.kind), r.cooldownMs]),
      [
        ['crawler#1', 'rss > 500MB for 3m', ['log', 'gc'], 300_000],
        ['crawler#2', 'mem% > 40% 3 times within 5 cycles', ['snapshot'], 600_000],
        ['crawler#3', 'growth > 50MB/h over 1h', ['webhook'], 300_000],
        ['crawler#4', 'limit% > 90%', ['signal'], 300_000],
        ['api#1', 'rss > 1GiB', ['log', 'restart'], 300_000],
        ['api#2', 'cpu% > 150%', ['exec'], 300_000],
      ],
    );
    assert.deepEqual(config.rules[5]?.actions[0], {
      kind: 'exec',
      argv: ['/usr/local/bin/notify', '{name}', '{pid}', '{rss}'],
      timeoutMs: 3000,
      cwd: dirname(config.file),
    });
    // Without cwd: a target's commands run in the config file's directory.
    assert.equal(api?.cwd, dirname(config.file));
    // crawler and api could share a process (`node api.js touna0627.py` run by uid 1000).
    assert.deepEqual(
      config.warnings.map((w) => [w.line, w.message.split(' can act')[0]]),
      [
        [29, 'rules crawler#4 (signal SIGUSR2) and api#1 (restart)'],
        [31, 'rules crawler#4 (signal SIGUSR2) and api#2 (exec)'],
        [31, 'rules api#1 (restart) and api#2 (exec)'],
      ],
    );
    assert.deepEqual(config.targets[1]?.rules, []);
  });

  it('fills in defaults', async () => {
    const config = await loadConfig(await write('targets: [{name: one, match: {pid: 1}}]'));
    assert.equal(config.intervalMs, 10_000);
    assert.equal(config.retainMs, 7 * 86_400_000);
    assert.deepEqual(config.store, { enabled: true });
    assert.equal(config.log, undefined);
    assert.deepEqual(config.targets[0]?.match, { pids: [1] });
    const off = await loadConfig(
      await write('store: false\nlisten: 9464\ntargets: [{name: one, match: {all: true}}]'),
    );
    assert.deepEqual(off.store, { enabled: false });
    assert.deepEqual(off.listen, { host: '127.0.0.1', port: 9464 });
  });

  it('lists every error of the scenario-1 file with line, column and key path', async () => {
    const errors = await errorsOf(
      `interval: 0
log:
  path: memwarden.log
  max_size: 512
store: ./no-such-dir/history.db
targets:
  - name: crawler
    match:
      substrings: [touna0627.py]
    rules:
      - when: rss > 500MB for 3m
        do: [log, gc}
      - when: cpu% > 150%
        do: [log]
        treshold: 90%
  - name: worker
    memory: "512MB"
    match: {name: worker}
    rules:
      - when: rss > 1GB
        do: log
        cooldown: [5m]
`,
      { cpuCount: 1 },
    );
    assert.deepEqual(errors, [
      '1:11: interval: expected a duration with a unit such as 10s, found the bare number 0',
      '4:13: log.max_size: expected a size with a unit such as 10MB (MB and MiB differ), found the bare number 512',
      `5:8: store: the directory ${join(dir, 'no-such-dir')} for the history database does not exist`,
      '12:21: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]',
      "13:22: targets[0].rules[1].when: 150% can never be reached: cpu% is at most 100% on this host (1 CPU; 100% = one core) (in 'cpu% > 150%' at column 8)",
      "15:9: targets[0].rules[1].treshold: unknown key 'treshold'; expected one of when, scope, do, escalate, cooldown",
      "17:5: targets[1].memory: unknown key 'memory'; expected one of name, match, run, cwd, restart, rules, user, group",
      '22:19: targets[1].rules[0].cooldown: expected a duration with a unit such as 5m, found a list',
    ]);
  });

  it('refuses non-positive intervals and suggests the key meant', async () => {
    const target = 'targets: [{name: a, match: a}]\n';
    assert.deepEqual(await errorsOf(`interval: -5\n${target}`), [
      '1:11: interval: expected a duration with a unit such as 10s, found the bare number -5',
    ]);
    assert.deepEqual(await errorsOf(`interval: 0s\n${target}`), [
      '1:11: interval: expected a duration with a unit such as 10s: must be at least 100ms',
    ]);
    assert.deepEqual(await errorsOf(`interval: -5s\n${target}`), [
      "1:11: interval: invalid duration '-5s': expected e.g. 250ms, 10s, 5m or 2h",
    ]);
    assert.deepEqual(await errorsOf(`intervl: 10s\n${target}`), [
      "1:1: intervl: unknown key 'intervl' (did you mean 'interval'?); expected one of interval, log, store, retain, listen, probe_users, targets, guard, notify",
    ]);
  });

  it('points into a rule at the column of the problem, quoted or not', async () => {
    const errors = await errorsOf(`targets:
  - name: a
    match: a
    rules:
      - when: rss > 500
        do: log
      - when: "mem% > 40% for"
        do: log
      - {when: 'leak and rss > 5MB', do: [log, 'signal SIGNOPE']}
      - when: rss > 5MB
        do: [{exec: [notify, "{pdi}"]}]
`);
    assert.deepEqual(errors, [
      "5:21: targets[0].rules[0].when: expected a size with a unit such as 500MB (in 'rss > 500' at column 7)",
      "7:30: targets[0].rules[1].when: expected a duration such as 3m after for (in 'mem% > 40% for' at column 15)",
      "9:48: targets[0].rules[2].do[1]: unknown signal 'SIGNOPE' (did you mean 'SIGFPE'?)",
      "11:30: targets[0].rules[3].do[0].exec[1]: unknown placeholder '{pdi}'; known: {pid}, {name}, {rss}, {target}, {rule} (write {{ for a literal brace)",
    ]);
  });

  it('reads scope: group, and refuses a scope it does not know or a rule that mixes the two', async () => {
    const path = await write(`targets:
  - name: a
    match: a
    rules:
      - when: pss > 2GB for 5m
        scope: group
        do: log
      - when: total.rss > 3GB
        do: log
      - when: rss > 1GB
        do: log
`);
    const config = await loadConfig(path);
    assert.deepEqual(
      config.rules.map((r) => [r.when.scope, r.when.clauses.map((c) => c.kind === 'compare' && c.metric)]),
      [
        ['group', ['total.pss']],
        ['group', ['total.rss']],
        [undefined, ['rss']],
      ],
    );
    const errors = await errorsOf(`targets:
  - name: a
    match: a
    rules:
      - when: rss > 1GB
        scope: all
        do: log
      - when: total.pss > 1GB and cpu% > 50%
        do: log
      - when: count > 3
        scope: process
        do: log
`);
    assert.deepEqual(errors, [
      "6:16: targets[0].rules[0].scope: expected group or process, found 'all'",
      "8:35: targets[0].rules[1].when: 'cpu%' is about each process and 'total.pss' about the whole group: a rule is one or the other (split it in two) (in 'total.pss > 1GB and cpu% > 50%' at column 21)",
      "10:15: targets[0].rules[2].when: 'count' is about the whole group, and this rule has scope: process (in 'count > 3' at column 1)",
    ]);
  });

  it('places regex errors, and says in one line what the linear engine cannot do (scenario 4)', async () => {
    const errors = await errorsOf(`targets:
  - name: a
    match:
      regexes: ['^worker-\\d+$', '(a+)+$', '(a)\\1', 'x(?=y)', '(unclosed']
`);
    assert.deepEqual(errors, [
      "4:43: targets[0].match.regexes[2]: refusing regular expression '(a)\\1': backreference \\1 is not supported (patterns run on RE2, which matches in linear time and has no backreferences or lookaround)",
      "4:52: targets[0].match.regexes[3]: refusing regular expression 'x(?=y)': lookahead (?= is not supported (patterns run on RE2, which matches in linear time and has no backreferences or lookaround)",
      "4:62: targets[0].match.regexes[4]: invalid regular expression '(unclosed': /(unclosed/: Unterminated group",
    ]);
  });

  it('checks match, run and restart', async () => {
    const errors = await errorsOf(`targets:
  - name: a
    match: {pid: [12, -3], glob: []}
  - name: b
    match: {children: true}
  - name: a
    match: {name: x}
    run: node server.js
  - name: c
    match: {user: root}
    restart: {max: 3}
    rules:
      - when: leak
        do: restart
  - name: d e
    match: {name: d}
`);
    assert.deepEqual(errors, [
      "3:23: targets[0].match.pid[1]: expected a process id (a positive whole number), found '-3'",
      '3:34: targets[0].match.glob: expected a glob such as *worker*, found an empty list',
      '5:12: targets[1].match: match needs at least one of pattern, regex, glob, name, pid, pidfile, user, cgroup, unit, container (or their plurals), or all: true',
      "6:11: targets[2].name: another target is already named 'a'",
      '8:10: targets[2].run: expected an argv list such as [node, server.js] (never a shell string)',
      '11:5: targets[3].restart: restart applies only to a target memwarden starts itself (add run: [argv])',
      '14:13: targets[3].rules[0].do: restart applies only to a target memwarden starts itself (add run: [argv] to the target)',
      "15:11: targets[4].name: 'd e' is not a name: use letters, digits, '_', '.', '-'",
    ]);
  });

  it('reports an empty file, a missing file and a missing targets list', async () => {
    assert.deepEqual(await errorsOf(''), [
      '1:1: the file is empty: expected a mapping with at least targets',
    ]);
    assert.deepEqual(await errorsOf('interval: 10s\n'), ["1:1: missing key 'targets' (a list of targets)"]);
    await assert.rejects(loadConfig(join(dir, 'absent.yaml')), (err: unknown) => {
      assert.ok(err instanceof MemwardenError);
      assert.match(err.message, /absent\.yaml: cannot read the config file \(ENOENT\)/);
      return true;
    });
  });

  it('returns the issues without throwing from parseConfig', () => {
    const { config, issues } = parseConfig(
      'interval: 1h\ntargets: [{name: a, match: a}]\n',
      join(dir, 'x.yaml'),
    );
    assert.equal(config?.intervalMs, 3_600_000);
    assert.deepEqual(issues, []);
  });

  describe('an insecure config file (scenario 3)', {
    skip: ROOT ? false : 'needs root: the check applies to a root watcher',
  }, () => {
    const text = 'targets: [{name: a, match: a}]\n';

    it('refuses a file every user can write, unless allowed', async () => {
      const path = await write(text);
      await chmod(path, 0o666);
      await assert.rejects(
        loadConfig(path),
        /writable by every user \(mode 0666\); refusing it \(--allow-insecure-config/,
      );
      assert.equal((await loadConfig(path, { allowInsecure: true })).targets.length, 1);
    });

    it('refuses a file owned by another user', async () => {
      const path = await write(text);
      await chown(path, 1000, 1000);
      await assert.rejects(loadConfig(path), /is owned by uid 1000, not by the user memwarden runs as \(0\)/);
    });

    it('refuses a file in a world-writable directory', async () => {
      const open = join(dir, 'open');
      await mkdir(open);
      await chmod(open, 0o777);
      const path = await write(text, 'open/config.yaml');
      await assert.rejects(loadConfig(path), /which is writable by every user \(mode 0777\)/);
    });

    it('refuses a symlink in a world-writable directory, even to a safe file', async () => {
      const safe = await write(text);
      const link = join(dir, 'open', 'link.yaml');
      await symlink(safe, link);
      await assert.rejects(
        loadConfig(link),
        new RegExp(`reached through ${join(dir, 'open')}, which is writable by every user`),
      );
    });

    it('refuses a group-writable file whose group is not root', async () => {
      const path = await write(text);
      await chown(path, 0, 1000);
      await chmod(path, 0o664);
      await assert.rejects(loadConfig(path), /is writable by group 1000 \(mode 0664\); refusing it/);
    });

    it('refuses a file below a directory, two levels up, that another user owns', async () => {
      const theirs = join(dir, 'theirs');
      await mkdir(join(theirs, 'etc'), { recursive: true });
      await chown(theirs, 1000, 1000);
      const path = await write(text, 'theirs/etc/config.yaml');
      await assert.rejects(
        loadConfig(path),
        new RegExp(`reached through ${theirs}, which is owned by uid 1000`),
      );
    });

    it('accepts a file only root can write', async () => {
      await assert.doesNotReject(loadConfig(await write(text)));
    });
  });
});
