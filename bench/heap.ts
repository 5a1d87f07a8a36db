/**
 * Heap snapshot analysis, memwarden against memlab, side by side in one run:
 *
 *   npm run bench heap     (BENCH_HEAP_RUNS=2, BENCH_HEAP_ORDERS=265000 set the runs and the size)
 *
 * Generates a ~200 MB snapshot once (a Node child builds an object graph and writes it; cached
 * under the system temp directory), then times parse + dominators + retained sizes in a fresh
 * child process per tool and run, so each peak RSS (VmHWM, read by the child itself at the
 * end) belongs to that tool alone. memlab lives in bench/peers (its own lockfile, installed
 * here without its browser download); if it cannot be installed or run, the reason is printed
 * and memwarden's numbers still are. Prints ratios; asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatBytes } from '../src/units/index.js';
import { ensurePeers, PEERS_DIR } from './lib.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PEERS = PEERS_DIR;

const runs = Math.max(1, Number(process.env.BENCH_HEAP_RUNS ?? 2));
/** Sets the snapshot's size: 265 000 orders make about 200 MB. */
const orders = Number(process.env.BENCH_HEAP_ORDERS ?? 265_000);

/** Orders, customers, order lines and strings: a graph shaped like a service's heap. */
const GENERATOR = `
import { writeHeapSnapshot } from 'node:v8';
const [count, path] = [Number(process.argv[1]), process.argv[2]];
class Order { constructor(i, customer) { this.id = i; this.customer = customer; this.lines = []; this.note = 'order ' + i; } }
class Customer { constructor(i) { this.id = i; this.name = 'customer-' + i; this.orders = new Set(); } }
const customers = new Map();
const orders = [];
for (let i = 0; i < count; i++) {
  const key = i % Math.ceil(count / 8);
  let customer = customers.get(key);
  if (!customer) { customer = new Customer(key); customers.set(key, customer); }
  const order = new Order(i, customer);
  for (let j = 0; j < 3; j++) order.lines.push({ sku: j * 7 + (i % 13), qty: j + 1, price: i * 0.5 });
  customer.orders.add(order);
  orders.push(order);
}
globalThis.benchGraph = { customers, orders };
writeHeapSnapshot(path);
`;

const PEAK = `Number(/VmHWM:\\s+(\\d+)/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]) * 1024`;

/**
 * CPU time of the whole child (user + system, all threads), next to wall time: on a busy
 * machine the wall-clock ratio says as much about the neighbours as about the tools.
 */
const CPU = 'cpuMs: (({ user, system }) => (user + system) / 1000)(process.cpuUsage())';

const MEMWARDEN = `
import { createRequire } from 'node:module';
import { computeDominators, readHeapSnapshot } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/analysis/heap/index.js')).href)};
const require = createRequire(import.meta.url);
const path = process.argv[1];
const startMs = performance.now();
const snapshot = await readHeapSnapshot(path);
const parsedMs = performance.now();
const tree = computeDominators(snapshot);
const doneMs = performance.now();
console.log(JSON.stringify({
  parseMs: parsedMs - startMs, totalMs: doneMs - startMs, ${CPU}, peakRssBytes: ${PEAK},
  nodeCount: snapshot.nodeCount, edgeCount: snapshot.edgeCount, rootRetainedBytes: tree.retainedSizeBytes[0],
}));
`;

/** memlab's own steps for the same result: what getFullHeapFromFile does, minus path annotation. */
const MEMLAB = `
const core = require(${JSON.stringify(join(PEERS, 'node_modules/@memlab/core'))});
const path = process.argv[1];
(async () => {
  const startMs = performance.now();
  const snapshot = await core.utils.getSnapshotFromFile(path, { buildNodeIdIndex: true });
  const parsedMs = performance.now();
  new core.TraceFinder().calculateAllNodesRetainedSizes(snapshot);
  const doneMs = performance.now();
  console.log(JSON.stringify({
    parseMs: parsedMs - startMs, totalMs: doneMs - startMs, ${CPU}, peakRssBytes: ${PEAK},
    nodeCount: snapshot.nodes.length, edgeCount: snapshot.edges.length,
    rootRetainedBytes: snapshot.nodes.get(0).retainedSize,
  }));
})();
`;

interface Measurement {
  parseMs: number;
  totalMs: number;
  cpuMs: number;
  wallMs: number;
  peakRssBytes: number;
  nodeCount: number;
  edgeCount: number;
  rootRetainedBytes: number;
}

function ensureSnapshot(): string {
  const dir = join(tmpdir(), 'memwarden-bench-heap');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `heap-${orders}-orders-node${process.versions.node}.heapsnapshot`);
  if (existsSync(path)) return path;
  process.stderr.write(`generating ${path} (once; later runs reuse it)…\n`);
  const partial = `${path}.partial`;
  const child = spawnSync(
    process.execPath,
    ['--max-old-space-size=8192', '--input-type=module', '-e', GENERATOR, String(orders), partial],
    { stdio: 'inherit' },
  );
  if (child.status !== 0) throw new Error(`snapshot generator failed (${child.status})`);
  renameSync(partial, path);
  return path;
}

function ensureBuilt(): void {
  const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');
}

function measure(kind: 'module' | 'commonjs', code: string, path: string): Measurement | string {
  const startMs = performance.now();
  const child = spawnSync(process.execPath, [`--input-type=${kind}`, '-e', code, path], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const wallMs = performance.now() - startMs;
  const last = child.stdout.trim().split('\n').at(-1) ?? '';
  if (child.status !== 0 || !last.startsWith('{')) {
    return `exit ${child.status ?? child.signal}: ${child.stderr.trim().split('\n').slice(-3).join(' | ')}`;
  }
  return { ...(JSON.parse(last) as Omit<Measurement, 'wallMs'>), wallMs };
}

/** Keeps the faster of two measurements (with that run's peak RSS), or the first failure. */
function faster(kept: Measurement | string | undefined, next: Measurement | string): Measurement | string {
  if (typeof kept === 'string') return kept;
  if (typeof next === 'string' || !kept) return next;
  return next.totalMs < kept.totalMs ? next : kept;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

export function benchHeap(): void {
  const path = ensureSnapshot();
  const fileBytes = statSync(path).size;
  ensureBuilt();
  const peersProblem = ensurePeers();

  // The tools take turns, run by run, so a busy spell on the machine hits both alike.
  let ours: Measurement | string | undefined;
  let theirs: Measurement | string | undefined = peersProblem;
  for (let run = 1; run <= runs; run++) {
    process.stderr.write(`run ${run}/${runs}: memwarden…\n`);
    ours = faster(ours, measure('module', MEMWARDEN, path));
    if (peersProblem) continue;
    process.stderr.write(`run ${run}/${runs}: memlab…\n`);
    theirs = faster(theirs, measure('commonjs', MEMLAB, path));
  }

  console.log(`\nHeap snapshot: ${path}`);
  console.log(`  ${formatBytes(fileBytes)} on disk, Node ${process.versions.node}, best of ${runs} run(s)`);
  if (typeof ours !== 'object') {
    console.log(`memwarden failed: ${ours}`);
    return;
  }
  console.log(`  ${ours.nodeCount} nodes, ${ours.edgeCount} edges\n`);
  const rows: string[][] = [
    [
      '',
      'parse',
      'parse+dominators+retained',
      'CPU (with startup)',
      'wall (with startup)',
      'peak RSS',
      'peak / file',
    ],
  ];
  const row = (name: string, m: Measurement) => [
    name,
    seconds(m.parseMs),
    seconds(m.totalMs),
    seconds(m.cpuMs),
    seconds(m.wallMs),
    formatBytes(m.peakRssBytes),
    `${(m.peakRssBytes / fileBytes).toFixed(2)}×`,
  ];
  rows.push(row('memwarden', ours));
  if (typeof theirs === 'object') {
    rows.push(row('memlab 2.0.5', theirs));
    rows.push([
      'memlab / memwarden',
      `${(theirs.parseMs / ours.parseMs).toFixed(1)}×`,
      `${(theirs.totalMs / ours.totalMs).toFixed(1)}×`,
      `${(theirs.cpuMs / ours.cpuMs).toFixed(1)}×`,
      `${(theirs.wallMs / ours.wallMs).toFixed(1)}×`,
      `${(theirs.peakRssBytes / ours.peakRssBytes).toFixed(1)}×`,
      '',
    ]);
  }
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  for (const r of rows) {
    console.log(
      r.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  '),
    );
  }
  console.log('');
  if (typeof theirs !== 'object') {
    console.log(`memlab not measured: ${theirs}`);
  } else {
    const agree = Math.abs(theirs.rootRetainedBytes - ours.rootRetainedBytes) / ours.rootRetainedBytes;
    console.log(
      `root retained size: memwarden ${formatBytes(ours.rootRetainedBytes)}, memlab ${formatBytes(theirs.rootRetainedBytes)} (${(agree * 100).toFixed(2)}% apart)`,
    );
    const speedup = theirs.totalMs / ours.totalMs;
    const cpuSpeedup = theirs.cpuMs / ours.cpuMs;
    console.log(
      `goal ≥ 5× faster than memlab: ${speedup >= 5 ? 'met' : 'NOT met'} (${speedup.toFixed(1)}× in time, ${cpuSpeedup.toFixed(1)}× in CPU; load average ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} CPUs)`,
    );
  }
  console.log(
    `goal peak < 2× file size: ${ours.peakRssBytes < 2 * fileBytes ? 'met' : 'NOT met'} (${(ours.peakRssBytes / fileBytes).toFixed(2)}×)`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) benchHeap();
