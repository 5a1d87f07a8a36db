import { DEFAULT_RETAIN_MS } from '../config/index.js';
import type { Tick as ExportTick } from '../export/index.js';
import type { ProcessFilter } from '../select/index.js';
import { toExportTick } from './export-tick.js';
import { Watcher } from './watcher.js';

export interface TickerTarget {
  name: string;
  filter: ProcessFilter;
}

/** Ticks for `top` and `serve`: a watcher with targets and no rules, read on demand. */
export class Ticker {
  private readonly watcher: Watcher;

  constructor(targets: readonly TickerTarget[], options: { pss?: boolean; intervalMs?: number } = {}) {
    const config = {
      file: '(command line)',
      intervalMs: options.intervalMs ?? 1000,
      retainMs: DEFAULT_RETAIN_MS,
      store: { enabled: false },
      targets: targets.map((t) => ({ name: t.name, match: t.filter, rules: [] })),
      rules: [],
      warnings: [],
    };
    this.watcher = new Watcher(config, {}, { pss: options.pss ?? false });
  }

  tick(): ExportTick {
    return toExportTick(this.watcher.tick(), this.watcher.counters);
  }

  close(): void {
    this.watcher.close();
  }
}
