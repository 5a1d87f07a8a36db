import { MemwardenError } from '../errors.js';
import { defaultStorePath } from '../store/index.js';

/** The flags of the commands that read a watcher's history: `--store PATH` or `-c FILE`. */
export const STORE_OPTIONS = {
  store: { type: 'string' },
  config: { type: 'string', short: 'c' },
} as const;

export const STORE_HELP = `  --store PATH      the history file; default $XDG_STATE_HOME/memwarden/history.db
  -c, --config FILE the history file that config names (its store:), as 'watch -c FILE' wrote it`;

/**
 * The history file a reader opens: `--store`, else the one a config file names (relative to
 * the config's directory, as the watcher took it), else the default.
 */
export async function storePathFor(values: { store?: string; config?: string }): Promise<string> {
  if (values.config === undefined) return values.store ?? defaultStorePath();
  if (values.store !== undefined)
    throw new MemwardenError('MW_USAGE', 'give either --store PATH or -c FILE, not both');
  const { loadConfig } = await import('../config/index.js');
  // Only read here: nothing in the file is run, so a file others could write is no danger.
  const config = await loadConfig(values.config, { allowInsecure: true });
  if (!config.store.enabled)
    throw new MemwardenError('MW_USAGE', `${values.config} keeps no history (store: false)`);
  return config.store.path ?? defaultStorePath();
}
