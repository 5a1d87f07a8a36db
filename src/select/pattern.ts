import { MemwardenError } from '../errors.js';

/**
 * Matching looks at no more than this much of a command line, so a hostile 2 MB argv costs the
 * same as a normal one.
 */
export const MATCH_PREFIX_CHARS = 32 * 1024;

/**
 * A quantified group that itself contains a quantifier — `(a+)+`, `(\w+\s?)*` — is
 * the shape that backtracks exponentially in a regex engine like V8's. Such patterns are
 * refused up front instead of matched against untrusted command lines.
 */
function hasNestedQuantifier(source: string): boolean {
  const stack: boolean[] = []; // per open group: does it contain a quantifier?
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '[') {
      // skip a character class: quantifier characters inside it are literals
      i++;
      while (i < source.length && source[i] !== ']') {
        if (source[i] === '\\') i++;
        i++;
      }
      continue;
    }
    if (c === '(') stack.push(false);
    else if (c === ')') {
      const inner = stack.pop() ?? false;
      const next = source[i + 1];
      const quantified = next === '*' || next === '+' || next === '{';
      if (inner && quantified) return true;
      if (inner && stack.length > 0) stack[stack.length - 1] = true;
    } else if ((c === '*' || c === '+' || c === '{') && stack.length > 0) {
      stack[stack.length - 1] = true;
    }
  }
  return false;
}

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
  if (hasNestedQuantifier(source)) {
    throw new MemwardenError(
      'MW_BAD_VALUE',
      `${where} '${source}' nests a quantifier inside a repeated group, which can take exponential time; rewrite it without the nesting`,
    );
  }
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
