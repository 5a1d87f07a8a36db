import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findLldb } from '../../src/runtimes/debugger.js';
import { runCli } from '../helpers/cli.js';
import { pidOf, start, waitForLine } from '../helpers/processes.js';

describe('memwarden inspect', () => {
  it('names a Node target, its version and which probes can run, without touching it', async () => {
    const child = start(process.execPath, ['-e', 'console.log("ready"); setInterval(() => {}, 1000)']);
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    await waitForLine(child, /ready/);
    const { code, stdout } = await runCli(['inspect', String(pidOf(child)), '--json']);
    assert.equal(code, 0);
    const info = JSON.parse(stdout) as {
      runtime: string;
      version: string;
      probes: { probe: string; possible: boolean }[];
      release: string[];
    };
    const lldb = findLldb() !== undefined;
    assert.equal(info.runtime, 'node');
    assert.equal(info.version, process.versions.node);
    assert.deepEqual(
      info.probes.map((p) => [p.probe, p.possible]),
      [
        ['gc', true],
        ['snapshot', true],
        // The trim after the GC goes through lldb.
        ['trim', lldb],
      ],
    );
    assert.match(info.release[0] ?? '', /^1\. collect: a full V8 garbage collection through the inspector/);
    assert.match(
      info.release[1] ?? '',
      lldb ? /^2\. trim: glibc .*malloc_trim\(0\) through lldb/ : /not possible here/,
    );
    assert.equal(stderr, '', 'the target was signalled or attached');
  });

  it('says why pid 1 and memwarden itself are never probed', async () => {
    const { code, stdout } = await runCli(['inspect', '1']);
    assert.equal(code, 0);
    assert.match(stdout, /gc\s+no: protected: pid 1/);
  });

  it('fails with exit code 1 for a pid that does not exist and 2 for a bad pid', async () => {
    assert.equal((await runCli(['inspect', '999999999'])).code, 1);
    assert.equal((await runCli(['inspect', 'abc'])).code, 2);
  });
});

describe('memwarden gc arguments', () => {
  it('fails when a pattern matches no process', async () => {
    const { code, stderr } = await runCli(['gc', 'no-such-process-anywhere-xyz']);
    assert.equal(code, 1);
    assert.match(stderr, /matched no process/);
  });

  it('needs a target', async () => {
    assert.equal((await runCli(['gc'])).code, 2);
  });
});

describe('Python texts of inspect and gc', () => {
  it('inspect leaves no empty field and gc says how many objects it collected', async () => {
    const child = start('python3', [
      '-c',
      'import time; print("ready", flush=True); time.sleep(120)',
      'mw-py-text-target',
    ]);
    await waitForLine(child, /ready/);
    const inspect = await runCli(['inspect', String(pidOf(child))]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.match(inspect.stdout, /^gc\s+yes\b/m);
    assert.doesNotMatch(inspect.stdout, /, {2}|, \(|yes, $/m);
    const gc = await runCli(['gc', 'mw-py-text-target', '--timeout', '60s'], { timeoutMs: 90_000 });
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout, /^pid \d+ python[\s\S]*\b\d+ objects? collected/m);
  });
});
