/**
 * RELIABILITY.md scenario 15: what gc, inspect, check and injection do under each Yama
 * ptrace_scope, for a non-dumpable target and for a set-uid one.
 *
 * The host's sysctl is only read. The scopes 0–3 are given to memwarden in a private mount
 * namespace, where a small tmpfs over /proc/sys/kernel holds a yama/ptrace_scope of our own: the
 * namespace dies with the command, so nothing is left to restore, and tests running beside
 * these on the same machine keep the host's real setting. What that exercises is memwarden's
 * reading of the scope (its preflight and its messages); the kernel's own refusal of an attach
 * is the python runtime test "turns an attach refused by the kernel into an error naming
 * ptrace_scope".
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BIN, CLI_ENV } from '../helpers/cli.js';
import { NOBODY } from '../helpers/nobody.js';
import { isAlive, pidOf, start, waitForLine, waitUntil } from '../helpers/processes.js';
import { NO_LLDB, stateOf, tracerOf } from '../runtimes/targets.js';

const SCOPE_FILE = '/proc/sys/kernel/yama/ptrace_scope';
const AS_NOBODY = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];
const PYTHON = '/usr/bin/python3';

function hostScope(): string | undefined {
  try {
    return readFileSync(SCOPE_FILE, 'latin1').trim();
  } catch {
    return undefined;
  }
}

/** Whether this host lets us make a private mount namespace with a tmpfs over /proc/sys/kernel. */
function privateScopeProblem(): string | false {
  if (process.geteuid?.() !== 0) return 'needs root, to make a mount namespace';
  try {
    execFileSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o size=16k none /proc/sys/kernel'], {
      stdio: 'pipe',
    });
    return false;
  } catch (err) {
    return `cannot mount a private tmpfs over /proc/sys/kernel in a mount namespace here: ${String(err).split('\n')[0]}`;
  }
}
const NO_PRIVATE_SCOPE = privateScopeProblem();
const NO_PYTHON = (() => {
  try {
    execFileSync(PYTHON, ['-c', '0']);
    return false;
  } catch {
    return `${PYTHON} is not installed`;
  }
})();

/** Sets the namespace's own ptrace_scope (none: no Yama at all), runs argv, then prints it again. */
const WITH_SCOPE = `
scope=$1; shift
if [ "$scope" != none ]; then
  mount -t tmpfs -o size=16k,mode=0755 memwarden-test /proc/sys/kernel || exit 97
  mkdir /proc/sys/kernel/yama && echo "$scope" > ${SCOPE_FILE} && chmod 0644 ${SCOPE_FILE} || exit 97
fi
"$@"; rc=$?
echo "scope after: $(cat ${SCOPE_FILE} 2>/dev/null || echo absent)" >&2
exit $rc`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** memwarden ARGS under the given scope, as root or as nobody, in its own mount namespace. */
function underScope(scope: number | 'none', user: 'root' | 'nobody', args: readonly string[]): Promise<Run> {
  const argv = [...(user === 'nobody' ? AS_NOBODY : []), process.execPath, BIN, ...args];
  return new Promise((resolve, reject) => {
    execFile(
      'unshare',
      ['-m', '--propagation', 'private', 'sh', '-c', WITH_SCOPE, 'sh', String(scope), ...argv],
      { env: CLI_ENV, cwd: '/', encoding: 'utf8', timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        if (code === 97) reject(new Error(`could not set up the private ptrace_scope: ${stderr}`));
        else if (code === null) reject(new Error(`memwarden ${args.join(' ')} did not finish: ${stderr}`));
        else resolve({ code, stdout, stderr });
      },
    );
  });
}

interface Availability {
  probe: string;
  possible: boolean;
  reason?: string;
}

async function gcAvailability(scope: number | 'none', user: 'root' | 'nobody', pid: number) {
  const run = await underScope(scope, user, ['inspect', String(pid), '--json']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, new RegExp(`scope after: ${scope === 'none' ? 'absent' : scope}`));
  const probes = (JSON.parse(run.stdout) as { probes: Availability[] }).probes;
  const gc = probes.find((p) => p.probe === 'gc');
  assert.ok(gc, run.stdout);
  return gc;
}

/** A Python of nobody's that prints ready and sleeps; `setup` runs first (e.g. a prctl). */
async function nobodysPython(setup = ''): Promise<{ child: ChildProcess; pid: number }> {
  const child = start(
    AS_NOBODY[0] as string,
    [
      ...AS_NOBODY.slice(1),
      PYTHON,
      '-c',
      `import ctypes, time\n${setup}\nprint('ready', flush=True)\ntime.sleep(600)`,
    ],
    { cwd: '/' },
  );
  await waitForLine(child, /^ready$/, 30_000);
  return { child, pid: pidOf(child) };
}

/** What the kernel's Yama scope lets memwarden do as `user` with a process of its own user. */
function allowedUnder(scope: number | 'none', user: 'root' | 'nobody'): boolean {
  if (scope === 'none' || scope === 0) return true;
  return user === 'root' ? scope !== 3 : false;
}

const scratch = mkdtempSync(join(tmpdir(), 'memwarden-ptrace-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));

describe('ptrace scopes (scenario 15)', { skip: NO_LLDB || NO_PYTHON }, () => {
  it("scenario 15: reads the host's ptrace_scope, says what it allows, and leaves it as it was", async () => {
    const before = hostScope();
    const target = await nobodysPython();
    const scope = before === undefined ? 'none' : Number(before);
    const expected = allowedUnder(scope, 'nobody');
    const gc = JSON.parse(
      execFileSync(
        'setpriv',
        [...AS_NOBODY.slice(1), process.execPath, BIN, 'inspect', String(target.pid), '--json'],
        {
          encoding: 'utf8',
          cwd: '/',
          env: CLI_ENV,
        },
      ),
    ).probes.find((p: Availability) => p.probe === 'gc') as Availability;
    assert.equal(gc.possible, expected, JSON.stringify(gc));
    if (!expected) assert.match(gc.reason ?? '', new RegExp(`kernel.yama.ptrace_scope is ${scope}`));
    assert.equal(hostScope(), before);
  });

  it('scenario 15: under ptrace_scope 0, 1, 2 and 3, inspect tells root from an unprivileged user', {
    skip: NO_PRIVATE_SCOPE,
  }, async () => {
    const target = await nobodysPython();
    for (const scope of ['none', 0, 1, 2, 3] as const) {
      for (const user of ['root', 'nobody'] as const) {
        const gc = await gcAvailability(scope, user, target.pid);
        const label = `scope ${scope} as ${user}: ${JSON.stringify(gc)}`;
        assert.equal(gc.possible, allowedUnder(scope, user), label);
        if (!gc.possible) {
          const why = {
            1: 'only an ancestor or CAP_SYS_PTRACE may attach',
            2: 'only CAP_SYS_PTRACE may attach',
            3: 'ptrace is disabled until reboot',
          }[scope as 1 | 2 | 3];
          assert.ok(gc.reason?.includes(`kernel.yama.ptrace_scope is ${scope}: ${why}`), label);
        }
      }
    }
    assert.equal(tracerOf(target.pid), 0);
  });

  it('scenario 15: a gc refused by ptrace_scope 2 names it, never attaches, and the target runs on', {
    skip: NO_PRIVATE_SCOPE,
  }, async () => {
    const target = await nobodysPython();
    const run = await underScope(2, 'nobody', ['gc', String(target.pid), '--timeout', '20s']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /kernel\.yama\.ptrace_scope is 2: only CAP_SYS_PTRACE may attach/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    assert.match(run.stderr, /scope after: 2/);
    assert.equal(tracerOf(target.pid), 0);
    assert.match(stateOf(target.pid) ?? '', /^[RS]$/);
  });

  it('scenario 15: under ptrace_scope 3, check warns at load time and a Node gc still collects, untrimmed', {
    skip: NO_PRIVATE_SCOPE,
  }, async () => {
    const config = join(scratch, 'gc.yaml');
    writeFileSync(
      config,
      'targets:\n  - name: py\n    match: x\n    rules:\n      - when: rss > 1GB\n        do: [gc]\n',
      {
        mode: 0o600,
      },
    );
    const check = await underScope(3, 'root', ['check', '-c', config]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(
      check.stderr,
      /rules py#1: injection into Python or native processes is unavailable: kernel\.yama\.ptrace_scope is 3/,
    );
    const checkAt0 = await underScope(0, 'root', ['check', '-c', config]);
    assert.doesNotMatch(checkAt0.stderr, /injection into Python or native processes is unavailable/);

    // The inspector needs no ptrace: the collection goes ahead, and only the trim says why not.
    const node = start('nice', [
      '-n',
      '19',
      process.execPath,
      '--inspect-port=0',
      '-e',
      'console.log("ready"); setInterval(() => {}, 1000);',
    ]);
    await waitForLine(node, /^ready$/);
    const gc = await underScope(3, 'root', ['gc', String(pidOf(node)), '--json']);
    assert.equal(gc.code, 0, gc.stderr);
    const [result] = JSON.parse(gc.stdout) as { ok: boolean; steps?: unknown }[];
    assert.equal(result?.ok, true, gc.stdout);
    assert.match(gc.stdout, /kernel\.yama\.ptrace_scope is 3: ptrace is disabled until reboot/);
    assert.ok(isAlive(pidOf(node)));
  });

  it('scenario 15: a non-dumpable target and a set-uid one are refused before any attach, saying why', async () => {
    const dumpless = await nobodysPython('ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)');
    const asNobody = (args: string[]) =>
      JSON.parse(
        execFileSync('setpriv', [...AS_NOBODY.slice(1), process.execPath, BIN, ...args, '--json'], {
          encoding: 'utf8',
          cwd: '/',
          env: CLI_ENV,
        }),
      );
    const probes = asNobody(['inspect', String(dumpless.pid)]).probes as Availability[];
    for (const probe of probes) {
      assert.equal(probe.possible, false);
      assert.match(
        probe.reason ?? '',
        /not dumpable \(prctl PR_SET_DUMPABLE 0, or a set-uid or set-gid program\)/,
      );
    }
    assert.equal(tracerOf(dumpless.pid), 0);

    // A set-uid root copy of sleep, started by nobody: the kernel makes it non-dumpable too.
    const dir = mkdtempSync(join(scratch, 'suid-'));
    chmodSync(dir, 0o755);
    const suid = join(dir, 'suid-sleep');
    copyFileSync('/bin/sleep', suid);
    chmodSync(suid, 0o4755);
    const sleeper = start(AS_NOBODY[0] as string, [...AS_NOBODY.slice(1), suid, '600'], { cwd: '/' });
    const pid = pidOf(sleeper);
    await waitForExecOf(pid, suid);
    const refused = spawnGc(pid);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /runs an unknown runtime: its executable cannot be read \(EACCES\)/);
    assert.match(refused.stderr, /nothing was sent to it/);
    assert.equal(tracerOf(pid), 0);
    assert.ok(isAlive(pid));
  });
});

/** `memwarden gc --trim PID` as nobody. */
function spawnGc(pid: number): { status: number | null; stderr: string } {
  try {
    execFileSync('setpriv', [...AS_NOBODY.slice(1), process.execPath, BIN, 'gc', '--trim', String(pid)], {
      encoding: 'utf8',
      cwd: '/',
      env: CLI_ENV,
      stdio: 'pipe',
    });
    return { status: 0, stderr: '' };
  } catch (err) {
    const e = err as { status: number | null; stderr: string };
    return { status: e.status, stderr: e.stderr };
  }
}

/** Waits until pid's exe is `path` (setpriv has exec'd it); as root, the link is readable. */
function waitForExecOf(pid: number, path: string): Promise<void> {
  return waitUntil(`pid ${pid} to run ${path}`, () => {
    try {
      return readlinkSync(`/proc/${pid}/exe`) === path;
    } catch {
      return false;
    }
  });
}
