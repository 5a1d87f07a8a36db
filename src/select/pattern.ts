import { MemwardenError } from '../errors.js';
import { catastrophicBacktracking } from './regex-safety.js';

/**
 * Matching looks at no more than this much of a command line, so a hostile 2 MB argv costs the
 * same as a normal one.
 */
export const MATCH_PREFIX_CHARS = 32 * 1024;

/** Compiles a user regex for command lines, refusing invalid and exponential patterns. */
export function compileRegex(source: string, where = 'regex'): RegExp {
  let regex: RegExp;
  try {
    regex = new RegExp(source);
  } catch (err) {
    const reason =
      err instanceof Error ? err.message.replace(/^Invalid regular expression: /, '') : String(err);
    throw new MemwardenError('MW_BAD_VALUE', `invalid ${where} '${source}': ${reason}`);
  }
  const danger = catastrophicBacktracking(source);
  if (danger !== undefined)
    throw new MemwardenError('MW_BAD_VALUE', `refusing ${where} '${source}': ${danger}`);
  return regex;
}

/** A shell glob (`*`, `?`, `[…]`) as an anchored regex over the whole text. */
export function compileGlob(glob: string): RegExp {
  let out = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) throw new MemwardenError('MW_BAD_VALUE', `invalid glob '${glob}': unclosed '['`);
      let body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      out += `[${body}]`;
      i = end;
    } else out += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`${out}$`);
}
