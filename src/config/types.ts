import type { NotifyConfig } from '../actions/index.js';
import type { RuleSpec } from '../rules/index.js';
import type { ProcessFilter } from '../select/index.js';
import type { GuardConfig } from './guard.js';
import type { ConfigIssue } from './issues.js';

export interface RestartPolicy {
  /** Give up after this many restarts within `withinMs`. */
  max: number;
  withinMs: number;
  /** Wait before the first restart; the actions part decides how it grows. */
  backoffMs: number;
  /** A process that ran this long started well: the restarts counted before are forgotten. */
  startSecsMs: number;
}

/** Who a target's exec commands run as (names or numbers, checked against /etc/passwd at load). */
export interface ExecAs {
  user: string;
  group?: string;
}

export interface TargetConfig {
  name: string;
  match: ProcessFilter;
  /**
   * The directory its `run:` process and its rules' exec commands run in, where their relative
   * paths are found: `cwd:` from the config file's directory, by default that directory
   * (memwarden's own when absent, as in quick mode).
   */
  cwd?: string;
  /** argv of a process memwarden starts and supervises itself. */
  run?: string[];
  restart?: RestartPolicy;
  rules: RuleSpec[];
}

export interface WatchConfig {
  /** Absolute path of the file this came from. */
  file: string;
  intervalMs: number;
  retainMs: number;
  log?: { path: string; maxSizeBytes: number };
  /** `enabled` without `path`: the store picks its default location. */
  store: { enabled: boolean; path?: string };
  listen?: { host: string; port: number };
  /**
   * The uids whose processes the gc, snapshot and trim actions may open up (an inspector, an
   * injection); absent means only memwarden's own uid, or any when it runs as root.
   */
  probeUids?: number[];
  targets: TargetConfig[];
  /** Every target's rules in file order, which is also their order of precedence. */
  rules: RuleSpec[];
  /** Things worth saying that do not stop the config from loading (overlapping rules). */
  warnings: ConfigIssue[];
  /** The `guard:` section: acting before the kernel's OOM killer does. */
  guard?: GuardConfig;
  /** The `notify:` section: Slack, ntfy, e-mail, desktop. */
  notify?: NotifyConfig;
}

export interface LoadConfigOptions {
  /** Use a config file that others could have written (`--allow-insecure-config`). */
  allowInsecure?: boolean;
  /** CPUs to check `cpu%` thresholds against; default: this host's. */
  cpuCount?: number;
  /** The uid memwarden runs as; default: the process's. Root is held to the file checks. */
  uid?: number;
}

export const DEFAULT_INTERVAL_MS = 10_000;
/** Below this a sweep of /proc would be most of the machine's work. */
export const MIN_INTERVAL_MS = 100;
export const DEFAULT_RETAIN_MS = 7 * 86_400_000;
export const DEFAULT_LOG_MAX_SIZE_BYTES = 10_000_000;
export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  max: 5,
  withinMs: 10 * 60_000,
  backoffMs: 1000,
  startSecsMs: 1000,
};
