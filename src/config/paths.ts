import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Node } from 'yaml';
import { errnoCode } from '../errors.js';
import type { ParseContext } from './context.js';
import type { KeyPath } from './issues.js';
import type { Entry } from './reader.js';

/** A file path relative to the config file, whose directory must already exist. */
export function filePath(
  ctx: ParseContext,
  node: Node | undefined,
  path: KeyPath,
  what: string,
  at?: Node,
): string | undefined {
  const written = ctx.reader.string(node, path, `a file path for the ${what}`, at);
  if (written === undefined) return undefined;
  const absolute = resolve(ctx.dir, written);
  return existingDirectory(ctx, dirname(absolute), node, path, ` for the ${what}`) ? absolute : undefined;
}

/** A directory relative to the config file's, which must exist. */
export function directory(ctx: ParseContext, entry: Entry, path: KeyPath): string | undefined {
  const written = ctx.reader.string(entry.value, path, 'a directory', entry.key);
  if (written === undefined) return undefined;
  const absolute = resolve(ctx.dir, written);
  return existingDirectory(ctx, absolute, entry.value, path, '') ? absolute : undefined;
}

function existingDirectory(
  ctx: ParseContext,
  dir: string,
  node: Node | undefined,
  path: KeyPath,
  purpose: string,
): boolean {
  try {
    if (statSync(dir).isDirectory()) return true;
    ctx.reader.report(node, path, `${dir} is not a directory`);
  } catch (err) {
    const code = errnoCode(err);
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be used (${code ?? String(err)})`;
    ctx.reader.report(node, path, `the directory ${dir}${purpose} ${why}`);
  }
  return false;
}
