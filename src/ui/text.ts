/**
 * Process names and command lines are chosen by the processes themselves: before they reach a
 * terminal, control characters (which could move the cursor or rewrite the screen) are shown
 * as escapes instead.
 */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}
