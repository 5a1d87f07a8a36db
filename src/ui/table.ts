export interface Column<T> {
  header: string;
  value(row: T): string;
  /** Numbers read best right-aligned. */
  align?: 'left' | 'right';
}

/**
 * A plain text table. The last column takes what is left of `width` (and is cut there) so a
 * long command line does not wrap every row; without a width nothing is cut.
 */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], width?: number): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] ?? '').length)));
  const lines = [columns.map((c) => c.header), ...cells].map((cellsOfRow) => {
    const parts = cellsOfRow.map((cell, i) => {
      const column = columns[i] as Column<T>;
      if (i === columns.length - 1) return cell;
      const w = widths[i] ?? 0;
      return column.align === 'right' ? cell.padStart(w) : cell.padEnd(w);
    });
    const line = parts.join('  ');
    return width !== undefined && line.length > width ? `${line.slice(0, Math.max(0, width - 1))}…` : line;
  });
  return `${lines.join('\n')}\n`;
}
