import { createRequire } from 'node:module';
import type RE2Type from 're2';
import { MemwardenError } from '../errors.js';

/**
 * RE2 is a native addon: loaded at the first pattern compiled, so commands that match nothing
 * by regex or glob (`system`, `ps --pid`, `--help`) do not pay for loading it.
 */
let re2: typeof RE2Type | undefined;
function engine(): typeof RE2Type {
  re2 ??= createRequire(import.meta.url)('re2') as typeof RE2Type;
  return re2;
}

/**
 * Matching looks at no more than this much of a command line, so a hostile 2 MB argv costs the
 * same as a normal one.
 */
export const MATCH_PREFIX_CHARS = 32 * 1024;

/** A longer pattern is a mistake, not a process name. */
export const MAX_PATTERN_LENGTH = 1000;

/** What a compiled pattern is asked: whether it matches somewhere in a command line. */
export interface Matcher {
  test(text: string): boolean;
}

/**
 * Features a linear-time engine cannot have, by the shape of the source; the V8 syntax check has
 * already passed, so escapes and classes are well-formed here.
 */
function unsupportedFeature(source: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (!inClass && /[1-9]/.test(next)) return `backreference \\${next}`;
      if (!inClass && next === 'k' && source[i + 2] === '<') return 'named backreference \\k<…>';
      i++;
    } else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (!inClass && c === '(' && source[i + 1] === '?') {
      const kind = source.slice(i + 2, i + 4);
      if (kind.startsWith('=') || kind.startsWith('!')) return `lookahead (?${kind[0]}`;
      if (kind === '<=' || kind === '<!') return `lookbehind (?${kind}`;
    }
  }
  return undefined;
}

/**
 * Compiles a user regex for command lines. Every pattern runs on RE2, whose matching time is
 * linear in the text: a command line any user can choose (`python` + 5400 × `worker` against
 * `worker.*worker.*\.py` took V8 288 s) cannot stall a cycle. The source is first checked
 * with V8's parser, so a syntax error reads as JavaScript users know it; what RE2 cannot do
 * (backreferences, lookaround) is then refused in one line.
 */
export function compileRegex(source: string, where = 'regex'): Matcher {
  if (source.length > MAX_PATTERN_LENGTH)
    throw new MemwardenError(
      'MW_BAD_VALUE',
      `refusing ${where}: a pattern is at most ${MAX_PATTERN_LENGTH} characters`,
    );
  try {
    new RegExp(source);
  } catch (err) {
    const reason =
      err instanceof Error ? err.message.replace(/^Invalid regular expression: /, '') : String(err);
    throw new MemwardenError('MW_BAD_VALUE', `invalid ${where} '${source}': ${reason}`);
  }
  const unsupported = unsupportedFeature(source);
  if (unsupported !== undefined) {
    throw new MemwardenError(
      'MW_BAD_VALUE',
      `refusing ${where} '${source}': ${unsupported} is not supported (patterns run on RE2, which matches in linear time and has no backreferences or lookaround)`,
    );
  }
  return linear(source, `${where} '${source}'`);
}

/** `source` on RE2; `label` names it in an error (`regex '…'`). */
function linear(source: string, label: string): Matcher {
  try {
    return new (engine())(source);
  } catch (err) {
    throw new MemwardenError(
      'MW_BAD_VALUE',
      `invalid ${label}: ${err instanceof Error ? err.message : String(err)} (patterns run on RE2)`,
    );
  }
}

/** A shell glob (`*`, `?`, `[…]`) as an anchored pattern over the whole text, on RE2 as well. */
export function compileGlob(glob: string): Matcher {
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
    } else out += c.replace(/[.+^${}()|\\/*?[\]]/g, '\\$&');
  }
  return linear(`${out}$`, `glob '${glob}'`);
}
