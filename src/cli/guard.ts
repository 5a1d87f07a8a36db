import {
  DEFAULT_GUARD_ESCALATE,
  DEFAULT_GUARD_WHEN,
  DEFAULT_INTERVAL_MS,
  DEFAULT_RETAIN_MS,
  guardFromFlags,
  loadConfig,
  MIN_INTERVAL_MS,
  type WatchConfig,
} from '../config/index.js';
import { MemwardenError } from '../errors.js';
import type { ProcessFilter } from '../select/index.js';
import { parseDuration } from '../units/index.js';
import { parseCommandArgs } from './args.js';
import type { Command } from './command.js';
import { runWatcher, WATCHER_OPTIONS } from './watch.js';

const HELP = `Usage: memwarden guard [options]
       memwarden guard -c memwarden.yaml      (the file's guard: section, and its targets)

Acts before the kernel's OOM killer does. Every interval it measures the machine (or one memory
cgroup); when the condition holds it ranks the processes there by what killing them would free
(USS, then oom_score_adj; preferred ones first, avoided ones never; never pid 1, kernel threads,
memwarden or its parents), names the victim and the ranking, and runs the escalation on that one
process, re-measuring before every step; only then does it pick the next. It also names every
OOM kill the kernel makes, like watch.

Guard:
  --scope machine|CGROUP     what to guard: the machine (default) or a memory cgroup given by
                             its directory, e.g. /sys/fs/cgroup/memory/app (v1) or
                             /sys/fs/cgroup/app.slice (v2)
  --when CONDITION           default '${DEFAULT_GUARD_WHEN}'; metrics: available (a size or a
                             share), mem%, limit% (a cgroup's usage over its limit), psi.some,
                             psi.full (avg10; psi.full60, psi.some300 for other windows)
  --prefer PATTERN           a command-line substring: such processes go first (repeatable)
  --prefer-name NAME         an executable name, likewise
  --avoid PATTERN            a command-line substring: such processes are never acted on
  --avoid-name NAME          an executable name, likewise (e.g. sshd)
  --escalate STEPS           default '${DEFAULT_GUARD_ESCALATE.join(', ')}'; steps are actions
                             (gc, trim, signal SIG…) and waits, comma-separated
  --dry-run                  name the victim and the ranking; act on nothing
  --interval DURATION        time between looks (default 10s)

Output, history and dashboard as for watch: --json, --log FILE, --count N, --store PATH,
--no-store, --listen HOST:PORT, --token TOKEN.
`;

function filter(substrings: string[] | undefined, names: string[] | undefined): ProcessFilter | undefined {
  if (!substrings?.length && !names?.length) return undefined;
  const f: ProcessFilter = {};
  if (substrings?.length) f.substrings = substrings;
  if (names?.length) f.names = names;
  return f;
}

export const guardCommand: Command = {
  name: 'guard',
  help: HELP,
  async run(args) {
    const { values } = parseCommandArgs(args, {
      ...WATCHER_OPTIONS,
      scope: { type: 'string' },
      when: { type: 'string' },
      prefer: { type: 'string', multiple: true },
      'prefer-name': { type: 'string', multiple: true },
      avoid: { type: 'string', multiple: true },
      'avoid-name': { type: 'string', multiple: true },
      escalate: { type: 'string' },
      'dry-run': { type: 'boolean' },
    });
    let config: WatchConfig;
    const path = values.config;
    const guardFlags = ['scope', 'when', 'prefer', 'prefer-name', 'avoid', 'avoid-name', 'escalate'] as const;
    if (path !== undefined) {
      const given = guardFlags.filter((flag) => values[flag] !== undefined);
      if (given.length > 0)
        throw new MemwardenError(
          'MW_USAGE',
          `give the guard either in -c FILE or as --${given[0]}, not both`,
        );
      config = await loadConfig(path, { allowInsecure: values['allow-insecure-config'] === true });
      if (config.guard === undefined) throw new MemwardenError('MW_CONFIG', `${path}: no guard: section`);
      if (values['dry-run']) config.guard.dryRun = true;
    } else {
      const prefer = filter(values.prefer, values['prefer-name']);
      const avoid = filter(values.avoid, values['avoid-name']);
      const guard = guardFromFlags({
        ...(values.scope === undefined ? {} : { scope: values.scope }),
        ...(values.when === undefined ? {} : { when: values.when }),
        ...(prefer ? { prefer } : {}),
        ...(avoid ? { avoid } : {}),
        ...(values.escalate === undefined
          ? {}
          : { escalate: values.escalate.split(',').map((step) => step.trim()) }),
        dryRun: values['dry-run'] ?? false,
      });
      config = {
        file: '(command line)',
        intervalMs: DEFAULT_INTERVAL_MS,
        retainMs: DEFAULT_RETAIN_MS,
        store: { enabled: true },
        targets: [],
        rules: [],
        warnings: [],
        guard,
      };
    }
    if (values.interval !== undefined) config.intervalMs = parseDuration(values.interval);
    if (config.intervalMs < MIN_INTERVAL_MS)
      throw new MemwardenError('MW_USAGE', `--interval must be at least ${MIN_INTERVAL_MS}ms`);
    await runWatcher(config, path, values, 'guard');
  },
};
