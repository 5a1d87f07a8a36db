/** The machine's PSI columns of `system_samples`, each with the part of the sample it holds. */
export const PSI_COLUMNS = (['some', 'full'] as const).flatMap((kind) =>
  (['avg10', 'avg60', 'avg300', 'total'] as const).map((field) => ({
    kind,
    field,
    column: `psi_${kind}_${field}`,
  })),
);

/**
 * A PSI column folded over a bucket: averages are averaged, and a stall total only grows, so a
 * bucket keeps its last (largest) one. `qualified` is the column as the query names it.
 */
export function foldPressure(column: string, qualified: string, average: (column: string) => string): string {
  return column.endsWith('_total') ? `max(${qualified})` : average(column);
}
