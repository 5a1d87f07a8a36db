/**
 * Process names and command lines are chosen by the processes themselves: before they reach a
 * terminal, control characters (which could move the cursor or rewrite the screen) are shown
 * as escapes instead. A backslash is doubled, so the escape is unambiguous: an argument holding
 * a real newline prints `\n`, one holding backslash-n prints `\\n`.
 */
export function printable(text: string): string {
  return text.replace(/[\\\x00-\x1f\x7f-\x9f]/g, (c) => {
    if (c === '\\') return '\\\\';
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** `text` cut to `width` characters (code points, not UTF-16 units), with … where it was cut. */
export function cut(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}
