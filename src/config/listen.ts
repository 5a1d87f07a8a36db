import { isScalar } from 'yaml';
import { MemwardenError } from '../errors.js';
import { parseListen } from '../units/index.js';
import type { ParseContext } from './context.js';
import type { Entry } from './reader.js';
import type { WatchConfig } from './types.js';

export function parseListenSection(ctx: ParseContext, entry: Entry | undefined): WatchConfig['listen'] {
  if (entry === undefined) return undefined;
  const node = entry.value;
  const expected = 'an address such as 127.0.0.1:9464, or a port';
  if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number')) {
    ctx.reader.report(node ?? entry.key, ['listen'], `expected ${expected}`);
    return undefined;
  }
  try {
    return parseListen(String(node.value));
  } catch (err) {
    if (!(err instanceof MemwardenError)) throw err;
    ctx.reader.report(node, ['listen'], err.message);
    return undefined;
  }
}
