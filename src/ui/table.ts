import { cut } from './text.js';

export interface Column<T> {
  header: string;
  value(row: T): string;
  /** Numbers read best right-aligned. */
  align?: 'left' | 'right';
}

/**
 * A plain text table. The last column takes what is left of `width` (and is cut there) so a
 * long command line does not wrap every row; without a width nothing is cut. A left-aligned
 * last column is not padded, so no line ends in spaces. `under` gives lines printed below a
 * row, as they are (a heap diff's retainer path under its class).
 */
export function renderTable<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  width?: number,
  under?: (row: T) => readonly string[],
): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] ?? '').length)));
  const fit = (line: string) => (width === undefined ? line : cut(line, width));
  const format = (cellsOfRow: readonly string[]) =>
    fit(
      cellsOfRow
        .map((cell, i) => {
          const column = columns[i] as Column<T>;
          const w = widths[i] ?? 0;
          if (column.align === 'right') return cell.padStart(w);
          return i === columns.length - 1 ? cell : cell.padEnd(w);
        })
        .join('  '),
    );
  const lines = [format(columns.map((c) => c.header))];
  rows.forEach((row, index) => {
    lines.push(format(cells[index] ?? []));
    if (under) for (const line of under(row)) lines.push(fit(line));
  });
  return `${lines.join('\n')}\n`;
}
