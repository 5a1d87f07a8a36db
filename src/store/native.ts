import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { errnoCode, MemwardenError } from '../errors.js';

/**
 * The Node major behind each NODE_MODULE_VERSION a build may come from. A native module works
 * only under the Node it was compiled for, and Node's own refusal names ABI numbers that nobody
 * can act on.
 */
const NODE_MAJOR_BY_ABI: Readonly<Record<string, number>> = {
  108: 18,
  115: 20,
  120: 21,
  127: 22,
  131: 23,
  137: 24,
  141: 25,
  147: 26,
};

function describeAbi(abi: string): string {
  const major = NODE_MAJOR_BY_ABI[abi];
  return major === undefined ? `NODE_MODULE_VERSION ${abi}` : `Node ${major} (NODE_MODULE_VERSION ${abi})`;
}

function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The command that rebuilds better-sqlite3 for the Node running now, in the folder whose
 * node_modules holds it. Node's own builds ship their headers beside bin/ (include/node); naming
 * them makes node-gyp build for this Node rather than for the one npm is configured for, and
 * needs no download.
 */
function rebuildCommand(): string {
  const manifest = createRequire(import.meta.url).resolve('better-sqlite3/package.json');
  const project = resolve(dirname(manifest), '..', '..');
  const prefix = resolve(dirname(process.execPath), '..');
  const nodedir = existsSync(join(prefix, 'include', 'node', 'node.h'))
    ? ` --nodedir=${shellWord(prefix)}`
    : '';
  return `cd ${shellWord(project)} && npm rebuild better-sqlite3${nodedir}`;
}

/**
 * A failure to load the native SQLite module, as one line that says why and what fixes it;
 * undefined for any other error.
 */
export function nativeModuleError(err: unknown): MemwardenError | undefined {
  if (!(err instanceof Error)) return undefined;
  const message = err.message.replace(/\s+/g, ' ');
  const running = `Node ${process.versions.node} (NODE_MODULE_VERSION ${process.versions.modules})`;
  const mismatch = /using NODE_MODULE_VERSION (\d+)\. This version of Node\.js requires/.exec(message);
  if (mismatch?.[1] !== undefined) {
    return new MemwardenError(
      'MW_FAILED',
      `better-sqlite3, the SQLite module of the history, was built for ${describeAbi(mismatch[1])} but memwarden runs on ${running}; rebuild it for this Node: ${rebuildCommand()}`,
    );
  }
  if (message.startsWith('Could not locate the bindings file')) {
    return new MemwardenError(
      'MW_FAILED',
      `better-sqlite3, the SQLite module of the history, has not been built; build it for ${running}: ${rebuildCommand()}`,
    );
  }
  if (errnoCode(err) === 'ERR_DLOPEN_FAILED') {
    return new MemwardenError(
      'MW_FAILED',
      `better-sqlite3, the SQLite module of the history, cannot be loaded (${message}); rebuild it for ${running}: ${rebuildCommand()}`,
    );
  }
  return undefined;
}
