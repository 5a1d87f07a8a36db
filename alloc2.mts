import { Session } from 'node:inspector/promises';
import { quickConfig } from './src/watch/quick.js';
import { Watcher } from './src/watch/watcher.js';
import { TickJsonLines } from './src/watch/report-lines.js';
import { startSleepers } from './bench/lib.js';

const crowd = await startSleepers(1000);
await new Promise((r) => setTimeout(r, 2000));
try {
  const w = new Watcher(quickConfig({ patterns: ['sleep 3600'], intervalMs: 1000, storePath: false }));
  const enc = new TickJsonLines();
  for (let i = 0; i < 5; i++) enc.encode(w.tick());
  const s = new Session();
  s.connect();
  await s.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as any);
  const N = 20;
  for (let i = 0; i < N; i++) enc.encode(w.tick());
  const { profile } = (await s.post('HeapProfiler.stopSampling')) as any;
  const by = new Map<string, number>();
  let total = 0;
  const walk = (n: any, path: string) => {
    const key = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`;
    by.set(key, (by.get(key) ?? 0) + n.selfSize);
    total += n.selfSize;
    for (const c of n.children) walk(c, path);
  };
  walk(profile.head, '');
  console.log('total KiB/tick', (total / N / 1024).toFixed(0));
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log((v / N / 1024).toFixed(1).padStart(8), k);
  w.close();
} finally {
  crowd.stop();
}
