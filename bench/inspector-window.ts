/**
 * How long the inspector memwarden opens stays reachable, and what another local user makes of
 * it (scenario 40a):
 *   - the window of `gc` on an idle Node target: SIGUSR1 → verified session (activation) and
 *     SIGUSR1 → the listening socket verified gone (exposure), beside the bare time from
 *     `kill -USR1` to the first answer of /json/list, which no client can beat;
 *   - the same with `nobody` polling /json/list as fast as it can and evaluating code the moment
 *     it may (test/fixtures/inspector-intruder.cjs), a fresh target each round: in how many
 *     rounds it ran code, and in how many memwarden saw it.
 * Prints numbers only; run as root with `node --import tsx bench/inspector-window.ts [rounds]`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { readTcpListeners } from '../src/proc/index.js';
import { collectGarbage } from '../src/runtimes/index.js';

const ROUNDS = Number(process.argv[2] ?? 20);
const PORT = 9356;
const INTRUDER = new URL('../test/fixtures/inspector-intruder.cjs', import.meta.url).pathname;

function startTarget(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [`--inspect-port=${PORT}`, '-e', 'console.log("ready"); setInterval(() => {}, 1000)'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', () => resolve(child));
    child.once('exit', () => reject(new Error('target exited')));
  });
}

function jsonListAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: PORT, path: '/json/list', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function portClosed(): Promise<void> {
  while (readTcpListeners().some((l) => l.port === PORT)) await new Promise((r) => setTimeout(r, 2));
}

function stats(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return `median ${at(0.5).toFixed(0).padStart(4)} ms   p90 ${at(0.9).toFixed(0).padStart(4)}   min ${at(0).toFixed(0).padStart(4)}   max ${at(1).toFixed(0).padStart(4)}`;
}

async function main(): Promise<void> {
  if (readTcpListeners().some((l) => l.port === PORT))
    throw new Error(`port ${PORT} is taken: free it first`);
  const activation: number[] = [];
  const exposure: number[] = [];
  const bare: number[] = [];
  const target = await startTarget();
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const r = await collectGarbage(target.pid ?? 0, { trim: false });
      activation.push(Number(r.details?.activationMs));
      exposure.push(Number(r.details?.exposureMs));
      await portClosed();
    }
  } finally {
    target.kill('SIGKILL');
  }
  for (let i = 0; i < ROUNDS; i++) {
    await portClosed();
    const fresh = await startTarget();
    try {
      const started = performance.now();
      process.kill(fresh.pid ?? 0, 'SIGUSR1');
      while (!(await jsonListAnswers())) await new Promise((r) => setImmediate(r));
      bare.push(performance.now() - started);
    } finally {
      fresh.kill('SIGKILL');
    }
  }

  let ran = 0;
  let seen = 0;
  let roundsWithIntruder = 0;
  for (let i = 0; i < ROUNDS; i++) {
    await portClosed();
    const fresh = await startTarget();
    const intruder = spawn(process.execPath, [INTRUDER], {
      uid: 65534,
      gid: 65534,
      cwd: '/',
      env: { ...process.env, INTRUDER_PORT: String(PORT) },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    intruder.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    try {
      await new Promise((r) => intruder.stdout?.once('data', r));
      let report: string;
      try {
        report = (await collectGarbage(fresh.pid ?? 0, { timeoutMs: 5000, trim: false })).via;
      } catch (err) {
        report = err instanceof Error ? err.message : String(err);
      }
      // The intruder exits once it ran code, or is killed below: either way its output is whole.
      await Promise.race([
        new Promise((r) => intruder.once('exit', r)),
        new Promise((r) => setTimeout(r, 500)),
      ]);
      roundsWithIntruder++;
      if (out.includes('ran uid=0')) ran++;
      if (/other connection/.test(report)) seen++;
    } finally {
      intruder.kill('SIGKILL');
      fresh.kill('SIGKILL');
    }
  }

  console.log(`inspector window of gc on an idle target, ${ROUNDS} rounds, node ${process.version}\n`);
  console.log(`${'SIGUSR1 → verified session (activation)'.padEnd(46)} ${stats(activation)}`);
  console.log(`${'SIGUSR1 → port verified closed (exposure)'.padEnd(46)} ${stats(exposure)}`);
  console.log(`${'baseline: kill -USR1 → first /json/list answer'.padEnd(46)} ${stats(bare)}`);
  console.log(
    `\nnobody polling /json/list: ran code as root in ${ran} of ${roundsWithIntruder} windows; memwarden reported a foreign connection in ${seen}`,
  );
}

await main();
