import { readFile } from 'node:fs/promises';
import { errnoCode } from '../errors.js';
import { ConfigError } from './issues.js';
import { parseConfig } from './parser.js';
import { configFileInsecurity } from './security.js';
import type { LoadConfigOptions, WatchConfig } from './types.js';

/**
 * Reads and validates a config file. Throws one ConfigError (MW_CONFIG, exit code 2) listing
 * every error, one per line; warnings come back in `config.warnings`. As root, a file others
 * could have written is refused unless `allowInsecure`: it holds commands memwarden will run.
 */
export async function loadConfig(path: string, options: LoadConfigOptions = {}): Promise<WatchConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError([
      {
        severity: 'error',
        file: path,
        path: '',
        message: `cannot read the config file (${errnoCode(err) ?? String(err)})`,
      },
    ]);
  }
  if (!options.allowInsecure) {
    const problem = configFileInsecurity(path, options.uid ?? process.getuid?.() ?? -1);
    if (problem !== undefined) {
      throw new ConfigError([
        {
          severity: 'error',
          file: path,
          path: '',
          message: `${problem}; refusing it (--allow-insecure-config to use it anyway)`,
        },
      ]);
    }
  }
  const { config, issues } = parseConfig(text, path, options);
  if (config === undefined) throw new ConfigError(issues.filter((issue) => issue.severity === 'error'));
  return config;
}
