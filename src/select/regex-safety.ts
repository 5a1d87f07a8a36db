/**
 * A conservative check for regular expressions that can backtrack exponentially in a
 * backtracking engine such as V8's (scenario 4). It rejects the two shapes behind nearly all
 * such blow-ups: a variable-length repetition inside a group that is itself repeated without a
 * small bound (`(a+)+`, `(\w+\s?)*`), and a repeated group whose alternatives can match the same
 * text (`(a|a)*`, `(a|ab)+`). It may refuse a harmless pattern; it should not pass a
 * catastrophic one of those shapes.
 */

/** A bounded outer repetition (`{1,10}`) multiplies the work by at most this much per level. */
const MAX_HARMLESS_BOUND = 10;

export const MAX_PATTERN_LENGTH = 1000;

interface Quantifier {
  min: number;
  max: number;
  length: number;
}

interface Frame {
  /** The group contains a variable-length repetition somewhere inside. */
  varies: boolean;
  branches: string[];
  current: string;
  start: number;
}

interface GroupInfo {
  varies: boolean;
  branches: string[];
  text: string;
}

function digitsAt(source: string, start: number): string {
  let end = start;
  while (end < source.length && (source[end] ?? '') >= '0' && (source[end] ?? '') <= '9') end++;
  return source.slice(start, end);
}

function quantifierAt(source: string, i: number): Quantifier | undefined {
  const c = source[i];
  let quantifier: Quantifier | undefined;
  if (c === '*') quantifier = { min: 0, max: Number.POSITIVE_INFINITY, length: 1 };
  else if (c === '+') quantifier = { min: 1, max: Number.POSITIVE_INFINITY, length: 1 };
  else if (c === '?') quantifier = { min: 0, max: 1, length: 1 };
  else if (c === '{') {
    const min = digitsAt(source, i + 1);
    if (min === '') return undefined;
    let j = i + 1 + min.length;
    let max = min;
    if (source[j] === ',') {
      max = digitsAt(source, j + 1);
      j += 1 + max.length;
    }
    if (source[j] !== '}') return undefined;
    quantifier = {
      min: Number(min),
      max: max === '' ? Number.POSITIVE_INFINITY : Number(max),
      length: j + 1 - i,
    };
  }
  // A lazy marker changes the order of tries, not how many there can be.
  if (quantifier !== undefined && source[i + quantifier.length] === '?') quantifier.length++;
  return quantifier;
}

function overlappingBranches(branches: readonly string[]): [string, string] | undefined {
  for (let i = 0; i < branches.length; i++) {
    for (let j = i + 1; j < branches.length; j++) {
      const a = branches[i] ?? '';
      const b = branches[j] ?? '';
      if (a === '' || b === '') continue;
      if (a.startsWith(b) || b.startsWith(a)) return [a, b];
    }
  }
  return undefined;
}

/** Why `source` may backtrack exponentially, or undefined if it passes the check. */
export function catastrophicBacktracking(source: string): string | undefined {
  if (source.length > MAX_PATTERN_LENGTH) return `a pattern is at most ${MAX_PATTERN_LENGTH} characters`;
  const stack: Frame[] = [{ varies: false, branches: [], current: '', start: 0 }];
  let lastGroup: GroupInfo | undefined;
  let i = 0;
  while (i < source.length) {
    const frame = stack[stack.length - 1]!;
    const c = source[i] ?? '';
    const quantifier = quantifierAt(source, i);
    if (quantifier !== undefined) {
      const repeats = quantifier.max > 1 && quantifier.max > quantifier.min;
      if (repeats) frame.varies = true;
      const unbounded = quantifier.max > MAX_HARMLESS_BOUND;
      if (lastGroup !== undefined && unbounded) {
        if (lastGroup.varies) {
          return `nested repetition in '${lastGroup.text}${source.slice(i, i + quantifier.length)}': a repeated group that itself repeats can backtrack exponentially`;
        }
        const overlap = overlappingBranches(lastGroup.branches);
        if (overlap !== undefined) {
          return `alternatives '${overlap[0]}' and '${overlap[1]}' in the repeated group '${lastGroup.text}' can match the same text, which can backtrack exponentially`;
        }
      }
      frame.current += source.slice(i, i + quantifier.length);
      i += quantifier.length;
      lastGroup = undefined;
      continue;
    }
    lastGroup = undefined;
    if (c === '\\') {
      frame.current += source.slice(i, i + 2);
      i += 2;
    } else if (c === '[') {
      let j = i + 1;
      if (source[j] === '^') j++;
      while (j < source.length && source[j] !== ']') j += source[j] === '\\' ? 2 : 1;
      frame.current += source.slice(i, j + 1);
      i = j + 1;
    } else if (c === '(') {
      let j = i + 1;
      if (source[j] === '?') {
        // (?: (?= (?! (?<= (?<! (?<name>: the prefix is not part of what the group matches.
        if (source[j + 1] === '<' && source[j + 2] !== '=' && source[j + 2] !== '!') {
          const close = source.indexOf('>', j);
          j = close === -1 ? source.length : close + 1;
        } else {
          j += source[j + 1] === '<' ? 3 : 2;
        }
      }
      stack.push({ varies: false, branches: [], current: '', start: i });
      i = j;
    } else if (c === ')' && stack.length > 1) {
      stack.pop();
      const parent = stack[stack.length - 1]!;
      const branches = [...frame.branches, frame.current];
      const text = source.slice(frame.start, i + 1);
      lastGroup = { varies: frame.varies, branches, text };
      parent.varies ||= frame.varies;
      parent.current += text;
      i++;
    } else if (c === '|') {
      frame.branches.push(frame.current);
      frame.current = '';
      i++;
    } else {
      frame.current += c;
      i++;
    }
  }
  return undefined;
}
