import { RuleParseError } from './rule-error.js';

/**
 * A number with whatever unit is glued to it: `500MB`, `40%`, `3m`, `50MB/h`, `3`. The parser
 * decides which units fit the metric, so the tokenizer only splits.
 */
export interface QuantityToken {
  kind: 'quantity';
  number: string;
  unit: string;
  /** Set for a rate such as `50MB/h`: the part after the slash. */
  per?: string;
  text: string;
  column: number;
}

export interface WordToken {
  kind: 'word';
  text: string;
  column: number;
}

export interface OpToken {
  kind: 'op';
  text: '>' | '>=' | '<' | '<=' | '==';
  column: number;
}

export interface EndToken {
  kind: 'end';
  text: '';
  column: number;
}

export type Token = QuantityToken | WordToken | OpToken | EndToken;

/** Long enough for any sensible rule; bounds the work done on hostile input. */
export const MAX_RULE_LENGTH = 1000;

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function isLetter(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}

/** One pass, one character of lookahead: linear in the length of the text. */
export function tokenize(source: string): Token[] {
  if (source.length > MAX_RULE_LENGTH) {
    throw new RuleParseError(source, 1, `a rule is at most ${MAX_RULE_LENGTH} characters`);
  }
  const tokens: Token[] = [];
  let i = 0;
  const at = (k: number): string => source[k] ?? '';
  const readWhile = (test: (c: string) => boolean): void => {
    while (i < source.length && test(at(i))) i++;
  };

  while (i < source.length) {
    const c = at(i);
    const column = i + 1;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(at(i + 1)))) {
      const start = i;
      readWhile(isDigit);
      if (at(i) === '.') {
        i++;
        if (!isDigit(at(i)))
          throw new RuleParseError(source, i + 1, 'expected a digit after the decimal point');
        readWhile(isDigit);
      }
      const number = source.slice(start, i);
      const unitStart = i;
      readWhile((ch) => isLetter(ch) || ch === '%');
      const unit = source.slice(unitStart, i);
      let per: string | undefined;
      if (at(i) === '/') {
        i++;
        const perStart = i;
        readWhile(isLetter);
        per = source.slice(perStart, i);
      }
      const token: QuantityToken = { kind: 'quantity', number, unit, text: source.slice(start, i), column };
      if (per !== undefined) token.per = per;
      tokens.push(token);
      continue;
    }
    if (isLetter(c)) {
      const start = i;
      // A dot joins the parts of a dotted name (`psi.full60`, `cgroup.psi.some`).
      while (
        i < source.length &&
        (isLetter(at(i)) || isDigit(at(i)) || (at(i) === '.' && isLetter(at(i + 1))))
      )
        i++;
      if (at(i) === '%') i++;
      tokens.push({ kind: 'word', text: source.slice(start, i), column });
      continue;
    }
    if (c === '>' || c === '<') {
      const op = at(i + 1) === '=' ? (`${c}=` as '>=' | '<=') : c;
      tokens.push({ kind: 'op', text: op, column });
      i += op.length;
      continue;
    }
    if (c === '=') {
      if (at(i + 1) !== '=') throw new RuleParseError(source, column, "expected '==' for equality");
      tokens.push({ kind: 'op', text: '==', column });
      i += 2;
      continue;
    }
    if (c === '&') throw new RuleParseError(source, column, "write 'and' to combine conditions");
    if (c === '-') throw new RuleParseError(source, column, 'thresholds cannot be negative');
    throw new RuleParseError(source, column, `unexpected character '${c}'`);
  }
  tokens.push({ kind: 'end', text: '', column: source.length + 1 });
  return tokens;
}
