/**
 * What a user regex costs per command line, on RE2 (what memwarden runs) next to V8's
 * backtracking RegExp (what it ran before): ordinary command lines, and the hostile one of issue
 * 10 (`python` + N × `worker` against `worker.*worker.*\.py`), whose cost on V8 grows with the
 * cube of N. V8 runs only the smaller N: at 5400 one match took minutes. Prints; asserts nothing.
 *
 *   node --import tsx bench/regex.ts
 */
import { performance } from 'node:perf_hooks';
import { compileRegex } from '../src/select/index.js';

const PATTERN = 'worker.*worker.*\\.py';

/** Microseconds per call of `test` on `text`, the median of a few rounds. */
function perMatchMicros(test: (text: string) => boolean, text: string, budgetMs: number): number {
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    let calls = 0;
    const t0 = performance.now();
    do {
      test(text);
      calls++;
    } while (performance.now() - t0 < budgetMs / 5);
    rounds.push(((performance.now() - t0) * 1000) / calls);
  }
  rounds.sort((a, b) => a - b);
  return rounds[2] as number;
}

function format(micros: number): string {
  return micros >= 1000 ? `${(micros / 1000).toFixed(1)} ms` : `${micros.toFixed(2)} µs`;
}

export function benchRegex(): void {
  const re2 = compileRegex(PATTERN);
  const v8 = new RegExp(PATTERN);
  const ordinary = [
    'python3 /srv/crawler/worker.py --queue default --concurrency 8',
    'node /srv/api/server.js --max-old-space-size=2048',
    '/usr/bin/redis-server 127.0.0.1:6379',
  ];
  process.stdout.write(`\nregex: one match of /${PATTERN}/ against a command line\n`);
  process.stdout.write(`${'command line'.padEnd(44)}${'RE2'.padStart(12)}${'V8 RegExp'.padStart(14)}\n`);
  for (const line of ordinary) {
    const label = line.length > 42 ? `${line.slice(0, 41)}…` : line;
    process.stdout.write(
      `${label.padEnd(44)}${format(perMatchMicros((t) => re2.test(t), line, 200)).padStart(12)}${format(perMatchMicros((t) => v8.test(t), line, 200)).padStart(14)}\n`,
    );
  }
  for (const n of [100, 200, 400, 800, 5400]) {
    const line = `python${'worker'.repeat(n)}`;
    const onV8 = n <= 800 ? format(perMatchMicros((t) => v8.test(t), line, 1000)) : 'not run';
    process.stdout.write(
      `${`python + ${n} × worker (${line.length} chars)`.padEnd(44)}${format(perMatchMicros((t) => re2.test(t), line, 500)).padStart(12)}${onV8.padStart(14)}\n`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) benchRegex();
