/**
 * Memory given back must reach the operating system: `memwarden gc` on real targets that hold
 * freed memory in their allocator — a Python crawler's page cycles, a Node service that dropped a
 * Map of Buffers, a redis-server (jemalloc) after its keys were deleted — and the agent path where
 * ptrace is refused.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { findOnPath } from '../../src/runtimes/debugger.js';
import { BIN, CLI_ENV, runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/http.js';
import { isAlive, pidOf, start, waitForLine } from '../helpers/processes.js';
import { fillAndEmpty } from '../helpers/redis.js';
import { AGENT_PYTHONPATH, FIXTURES, heartbeatAdvances, NO_LLDB, startFixture, tracerOf } from './targets.js';

const MB = 1024 * 1024;
const scratch = mkdtempSync(join(tmpdir(), 'memwarden-release-test-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));

interface Step {
  step: 'collect' | 'trim';
  ran: boolean;
  via?: string;
  skipped?: string;
  error?: string;
  allocator?: string;
  rssBefore?: number;
  rssAfter?: number;
  durationMs?: number;
  details?: Record<string, unknown>;
}

interface Released {
  ok: boolean;
  pid: number;
  runtime: string;
  rssBefore: number;
  rssAfterCollect?: number;
  rssAfterTrim?: number;
  rssAfter: number;
  freedBytes: number;
  reason?: string;
  steps: Step[];
  error?: string;
}

async function gcJson(args: readonly string[], env = CLI_ENV): Promise<Released> {
  const { code, stdout, stderr } = await runCli(['gc', ...args, '--json', '--timeout', '60s'], {
    timeoutMs: 120_000,
    env,
  });
  assert.equal(code, 0, `${stderr}\n${stdout}`);
  const [result] = JSON.parse(stdout) as Released[];
  assert.ok(result?.ok, stdout);
  console.log(
    `  ${result.runtime} pid ${result.pid}: RSS ${mb(result.rssBefore)} → collect ${mb(result.rssAfterCollect)} → ` +
      `trim ${mb(result.rssAfterTrim)} MB; ${result.steps.map((s) => `${s.step} ${s.durationMs ?? '-'} ms`).join(', ')}`,
  );
  return result;
}

function mb(bytes: number | undefined): string {
  return bytes === undefined ? '-' : String(Math.round(bytes / MB));
}

function step(result: Released, name: Step['step']): Step {
  const found = result.steps.find((s) => s.step === name);
  assert.ok(found, `no ${name} step in ${JSON.stringify(result.steps)}`);
  return found;
}

describe('gc gives the memory back to the operating system', { skip: NO_LLDB }, () => {
  it('a Python crawler holding cycles of 4 KiB pages loses at least half its RSS, most of it to the trim', async () => {
    const target = await startFixture('python3', 'py_cycles.py', ['50000', 'pages']);
    const result = await gcJson([String(target.pid)]);
    assert.ok(result.rssBefore > 150 * MB, `the target held only ${result.rssBefore} bytes`);
    assert.ok(result.rssAfter <= result.rssBefore / 2, `RSS ${result.rssBefore} → ${result.rssAfter}`);
    const collect = step(result, 'collect');
    const trim = step(result, 'trim');
    assert.equal(collect.ran, true);
    assert.ok(Number(collect.details?.collected) >= 100_000, JSON.stringify(collect));
    assert.equal(trim.ran, true, JSON.stringify(trim));
    assert.equal(trim.allocator, 'glibc');
    assert.match(trim.via ?? '', /malloc_trim\(0\) through ctypes, in the same visit/);
    // The collection alone leaves the pages in malloc: the trim is what returns them.
    assert.ok(
      (result.rssAfterCollect ?? 0) - result.rssAfter > result.rssBefore - (result.rssAfterCollect ?? 0),
      `collect ${result.rssBefore} → ${result.rssAfterCollect}, trim → ${result.rssAfter}`,
    );
    assert.equal(result.reason, undefined);
    assert.equal(tracerOf(target.pid), 0);
    assert.ok(await heartbeatAdvances(target.heartbeat), 'the target did not keep running');
  });

  it('--collect-only leaves the freed pages in malloc, and says why little came back', async () => {
    const target = await startFixture('python3', 'py_cycles.py', ['50000', 'pages']);
    const result = await gcJson([String(target.pid), '--collect-only']);
    assert.equal(step(result, 'trim').ran, false);
    assert.match(step(result, 'trim').skipped ?? '', /not asked for/);
    assert.ok(result.rssAfter > result.rssBefore * 0.7, `RSS ${result.rssBefore} → ${result.rssAfter}`);
    assert.match(result.reason ?? '', /not trimmed/);
    assert.ok(isAlive(target.pid));
  });

  it('a Node service that dropped a Map of Buffers loses at least half its RSS: GC, then malloc_trim', async () => {
    // Its own inspector port: 9229 belongs to the tests that are about it.
    const child = start(process.execPath, [
      '--inspect-port=9361',
      join(FIXTURES, 'node-buffers.js'),
      '150000',
    ]);
    await waitForLine(child, /^ready/, 60_000);
    const pid = pidOf(child);
    const result = await gcJson([String(pid)]);
    assert.ok(result.rssBefore > 250 * MB, `the target held only ${result.rssBefore} bytes`);
    assert.ok(result.rssAfter <= result.rssBefore / 2, `RSS ${result.rssBefore} → ${result.rssAfter}`);
    assert.equal(step(result, 'collect').ran, true);
    assert.match(step(result, 'collect').via ?? '', /full V8 GC through the inspector on port 9361/);
    const trim = step(result, 'trim');
    assert.equal(trim.ran, true, JSON.stringify(trim));
    assert.equal(trim.allocator, 'glibc');
    assert.match(trim.via ?? '', /malloc_trim\(0\) through lldb/);
    assert.ok((result.rssAfterCollect ?? 0) > result.rssBefore / 2, 'the GC alone gives little back');
    assert.equal(tracerOf(pid), 0);
    assert.ok(isAlive(pid));
  });
});

const REDIS = findOnPath(['redis-server']);

describe('gc --trim on a jemalloc process', {
  skip:
    NO_LLDB || (REDIS === undefined ? 'redis-server is not installed (apt-get install redis-server)' : false),
}, () => {
  it('redis-server gives the pages of deleted keys back through mallctl purge', async () => {
    const port = await freePort();
    const server = start(REDIS as string, [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    await waitForLine(server, /Ready to accept connections/, 30_000);
    const pid = pidOf(server);
    await fillAndEmpty(port, 40_000);
    const inspect = await runCli(['inspect', String(pid)]);
    assert.match(inspect.stdout, /trim\s+yes, lldb \(jemalloc .*mallctl\("arena\.4096\.purge"\)/);
    const result = await gcJson([String(pid), '--trim']);
    const trim = step(result, 'trim');
    assert.equal(trim.ran, true, JSON.stringify(trim));
    assert.equal(trim.allocator, 'jemalloc');
    assert.equal(trim.details?.released, true);
    assert.ok(result.rssAfter < result.rssBefore, `RSS ${result.rssBefore} → ${result.rssAfter}`);
    assert.ok(result.freedBytes > 20 * MB, `only ${result.freedBytes} bytes came back`);
    assert.ok(isAlive(pid));
    assert.equal(tracerOf(pid), 0);
  });
});

/**
 * A launcher that forbids ptrace to itself and everything it starts, as a container's seccomp
 * profile does: ptrace(2) then fails with EPERM, whoever asks.
 */
const NO_PTRACE_C = `#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
  struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ptrace, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { .len = 4, .filter = filter };
  if (argc < 2 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
    perror("no-ptrace");
    return 126;
  }
  execvp(argv[1], argv + 1);
  perror("no-ptrace: exec");
  return 127;
}
`;

function noPtraceLauncher(): string | { skip: string } {
  const source = join(scratch, 'no-ptrace.c');
  const binary = join(scratch, 'no-ptrace');
  writeFileSync(source, NO_PTRACE_C);
  try {
    execFileSync('cc', ['-O2', '-o', binary, source], { stdio: 'ignore' });
    return binary;
  } catch {
    return { skip: 'cc is not available here to build the seccomp launcher' };
  }
}

describe('ptrace refused', { skip: NO_LLDB }, () => {
  it('the Python agent path still collects and trims, with no ptrace at all', async (t) => {
    const launcher = noPtraceLauncher();
    if (typeof launcher !== 'string') return t.skip(launcher.skip);
    const env = { ...process.env, PYTHONPATH: AGENT_PYTHONPATH };
    const target = await startFixture('python3', 'py_cycles.py', ['50000', 'pages'], env, [
      '-m',
      'memwarden_agent',
    ]);
    // The same memwarden, forbidden to ptrace: an lldb injection is refused by the kernel...
    const probe = `
      const { pythonGc } = await import(${JSON.stringify(new URL('../../dist/runtimes/python/index.js', import.meta.url).pathname)});
      try { await pythonGc(${target.pid}, { paths: ['lldb'], timeoutMs: 30000 }); console.log('attached'); }
      catch (err) { console.log(err.code, err.message); }`;
    const refused = execFileSync(launcher, [process.execPath, '--input-type=module', '-e', probe], {
      encoding: 'utf8',
    });
    assert.match(refused, /^MW_PERMISSION .*ptrace attach to pid \d+ was refused/);
    // ...and gc goes through the agent, which trims in the same call.
    const { code, stdout, stderr } = await new Promise<{
      code: number | null;
      stdout: string;
      stderr: string;
    }>((resolve) => {
      const child = start(launcher, [process.execPath, BIN, 'gc', String(target.pid), '--json'], {
        env: CLI_ENV,
      });
      let out = '';
      let err = '';
      child.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
      });
      child.stderr?.on('data', (c: Buffer) => {
        err += c.toString();
      });
      child.once('close', (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
    });
    assert.equal(code, 0, stderr);
    const [result] = JSON.parse(stdout) as Released[];
    assert.ok(result?.ok, stdout);
    assert.match(step(result, 'collect').via ?? '', /through its memwarden agent/);
    assert.equal(step(result, 'trim').ran, true, JSON.stringify(result.steps));
    assert.ok(result.rssAfter <= result.rssBefore / 2, `RSS ${result.rssBefore} → ${result.rssAfter}`);
    assert.ok(await heartbeatAdvances(target.heartbeat));
  });
});
