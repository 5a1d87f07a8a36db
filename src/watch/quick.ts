import { DEFAULT_LOG_MAX_SIZE_BYTES, DEFAULT_RETAIN_MS, type WatchConfig } from '../config/index.js';
import { compileRule, type RuleSpec } from '../rules/index.js';
import type { ProcessFilter } from '../select/index.js';
import { parseSizeOrPercent } from '../units/index.js';

export interface QuickOptions {
  /** One target per pattern, named after it. */
  patterns: string[];
  intervalMs: number;
  /** `40%` (of the machine) or `500MB`: ask for a memory release above it. */
  gcAbove?: string;
  logPath?: string;
  storePath?: string | false;
}

/**
 * The one-line form (`watch --match a --match b --gc-above 40%`) as the config it stands for:
 * one target per pattern, each with one rule `mem% > 40%` (or `rss > 500MB`) doing log + gc.
 */
export function quickConfig(options: QuickOptions): WatchConfig {
  const targets = options.patterns.map((pattern) => {
    const match: ProcessFilter = { substrings: [pattern] };
    const rules: RuleSpec[] = [];
    if (options.gcAbove !== undefined) {
      const threshold = parseSizeOrPercent(options.gcAbove);
      const when =
        threshold.kind === 'percent' ? `mem% > ${threshold.percent}%` : `rss > ${options.gcAbove.trim()}`;
      rules.push(compileRule({ id: `${pattern}#1`, target: pattern, when, do: ['log', 'gc'] }));
    }
    return { name: pattern, match, rules };
  });
  const config: WatchConfig = {
    file: '(command line)',
    intervalMs: options.intervalMs,
    retainMs: DEFAULT_RETAIN_MS,
    store: options.storePath === false ? { enabled: false } : { enabled: true },
    targets,
    rules: targets.flatMap((t) => t.rules),
    warnings: [],
  };
  if (typeof options.storePath === 'string') config.store.path = options.storePath;
  if (options.logPath !== undefined)
    config.log = { path: options.logPath, maxSizeBytes: DEFAULT_LOG_MAX_SIZE_BYTES };
  return config;
}
