import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

const MiB = 1024 * 1024;
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'memwarden-analyze-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

/** A steady leak of `bytesPerSecond` under a GC sawtooth, sampled every 10 s. */
function leakingSamples(bytesPerSecond: number, points = 400): Array<{ t: number; rss: number }> {
  return Array.from({ length: points }, (_, i) => {
    const t = 1_700_000_000 + i * 10;
    const sawtooth = (i % 12) * 2 * MiB;
    return { t, rss: 300 * MiB + bytesPerSecond * i * 10 + sawtooth };
  });
}

async function writeCsv(name: string, rows: Array<{ t: number; rss: number }>): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `t,rss\n${rows.map((r) => `${r.t},${r.rss}`).join('\n')}\n`);
  return path;
}

function assertOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(stderr, /\n\s+at /);
}

describe('memwarden analyze', () => {
  it('reports a leak with its rate and the time to the limit', async () => {
    const path = await writeCsv('leak.csv', leakingSamples((2 * MiB) / 60));
    const { code, stdout } = await runCli(['analyze', path, '--limit', '2GiB']);
    assert.equal(code, 0);
    assert.match(
      stdout,
      /^leak: \+2\.\d+ MiB\/min \(95% CI \+[\d.]+ MiB\/min to \+[\d.]+ MiB\/min, p < 0\.0001\)/,
    );
    assert.match(stdout, /reaches 2\.00 GiB limit in ~\d+h\d\dm/);
  });

  it('prints one JSON object with the verdict, slope, interval and time to limit', async () => {
    const bytesPerSecond = (2 * MiB) / 60;
    const path = await writeCsv('leak-json.csv', leakingSamples(bytesPerSecond));
    const { code, stdout } = await runCli(['analyze', path, '--limit', '2GiB', '--json']);
    assert.equal(code, 0);
    const result = JSON.parse(stdout);
    assert.equal(result.verdict, 'leak');
    assert.ok(Math.abs(result.slopeBytesPerSecond - bytesPerSecond) < 0.05 * bytesPerSecond);
    assert.ok(result.slopeLowBytesPerSecond <= result.slopeBytesPerSecond);
    assert.ok(result.slopeHighBytesPerSecond >= result.slopeBytesPerSecond);
    assert.equal(result.confidenceLevel, 0.95);
    assert.equal(typeof result.pValue, 'number');
    assert.equal(result.limitBytes, 2 * 1024 * MiB);
    assert.ok(result.timeToLimitSeconds > 0);
  });

  it('leaves out the time to limit when no limit is given', async () => {
    const path = await writeCsv('leak-nolimit.csv', leakingSamples(50_000));
    const { stdout } = await runCli(['analyze', path, '--json']);
    const result = JSON.parse(stdout);
    assert.equal(result.verdict, 'leak');
    assert.equal('timeToLimitSeconds' in result, false);
  });

  it('sees no leak in a sawtooth that always returns to its floor', async () => {
    const path = await writeCsv('sawtooth.csv', leakingSamples(0));
    const { code, stdout } = await runCli(['analyze', path, '--limit', '2GiB']);
    assert.equal(code, 0);
    assert.match(stdout, /^no leak: /);
    assert.doesNotMatch(stdout, /reaches/);
  });

  it('reads history JSON in any order, mixing pids and ignoring other fields', async () => {
    const samples = leakingSamples(50_000).map((s, i) => ({
      pid: i % 2 === 0 ? 100 : 200,
      time: s.t * 1000,
      rss: s.rss,
      cpuPercent: 3,
    }));
    samples.reverse();
    const path = join(dir, 'history.json');
    await writeFile(path, JSON.stringify(samples));
    const { code, stdout } = await runCli(['analyze', path, '--json']);
    assert.equal(code, 0);
    const result = JSON.parse(stdout);
    assert.equal(result.verdict, 'leak');
    assert.equal(result.points, samples.length);
    assert.ok(Math.abs(result.slopeBytesPerSecond - 50_000) < 2500);
  });

  it('accepts objects with t in seconds', async () => {
    const path = join(dir, 'seconds.json');
    await writeFile(path, JSON.stringify(leakingSamples(50_000)));
    const result = JSON.parse((await runCli(['analyze', path, '--json'])).stdout);
    assert.equal(result.verdict, 'leak');
  });

  it('says insufficient for a handful of samples', async () => {
    const path = await writeCsv('short.csv', leakingSamples(50_000, 5));
    const { code, stdout } = await runCli(['analyze', path]);
    assert.equal(code, 0);
    assert.match(stdout, /^insufficient data: only 5 samples/);
  });

  it('names the file and line of a value that is not a number', async () => {
    const path = join(dir, 'bad-value.csv');
    await writeFile(path, 't,rss\n1,1000\n2,1000\n3,12kb\n');
    const { code, stderr } = await runCli(['analyze', path]);
    assert.equal(code, 1);
    assertOneLineError(stderr, /bad-value\.csv:4: rss value "12kb" is not a number/);
  });

  it('says a binary file is not a series, without echoing its bytes', async () => {
    const path = join(dir, 'garbage.bin');
    const bytes = Buffer.alloc(3000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 151 + 7) % 256;
    await writeFile(path, bytes);
    const { code, stderr } = await runCli(['analyze', path]);
    assert.equal(code, 1);
    assertOneLineError(stderr, /garbage\.bin: a binary file, not a series/);
    assert.doesNotMatch(stderr.trimEnd(), /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffd]/);
  });

  it('quotes and cuts a long header line with control characters in it', async () => {
    const path = join(dir, 'escaped-header.csv');
    await writeFile(path, `time\u001b[31m,${'x'.repeat(200)}\n1,2\n`);
    const { code, stderr } = await runCli(['analyze', path]);
    assert.equal(code, 1);
    assertOneLineError(stderr, /expected a header with columns t,rss, got "time\\u001b\[31m,x{30}…"/);
  });

  it('names the file and line of a wrong header', async () => {
    const path = join(dir, 'bad-header.csv');
    await writeFile(path, '\ntime,bytes\n1,1000\n');
    const { code, stderr } = await runCli(['analyze', path]);
    assert.equal(code, 1);
    assertOneLineError(stderr, /bad-header\.csv:2: expected a header with columns t,rss/);
  });

  it('names the element of history JSON that has no rss', async () => {
    const path = join(dir, 'bad.json');
    await writeFile(path, JSON.stringify([{ time: 1, rss: 5 }, { time: 2 }]));
    const { code, stderr } = await runCli(['analyze', path]);
    assert.equal(code, 1);
    assertOneLineError(stderr, /bad\.json: element 1 has no numeric 'rss'/);
  });

  it('exits 2 for a missing file, a missing argument or a bad limit', async () => {
    const missing = await runCli(['analyze', join(dir, 'nope.csv')]);
    assert.equal(missing.code, 2);
    assertOneLineError(missing.stderr, /nope\.csv: no such file/);
    const none = await runCli(['analyze']);
    assert.equal(none.code, 2);
    assertOneLineError(none.stderr, /expected one series file/);
    const path = await writeCsv('limit.csv', leakingSamples(0, 20));
    const badLimit = await runCli(['analyze', path, '--limit', '2']);
    assert.equal(badLimit.code, 2);
    assertOneLineError(badLimit.stderr, /invalid size '2'/);
  });
});
