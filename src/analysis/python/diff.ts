/** What the Python side of a leak hunt compares: type counts and tracemalloc sites at two times. */
export interface PythonHeapCounts {
  types: readonly { name: string; count: number; sizeBytes: number }[];
  tracemalloc: readonly { file: string; line: number; sizeBytes: number; count: number }[];
}

export interface PythonGrowth {
  name: string;
  countDelta: number;
  sizeDelta: number;
  /** The allocation sites whose live memory grew most, `file:line`, largest growth first. */
  retainers: string[];
}

export interface PythonDiffOptions {
  /** A type is listed when it grew by at least this many objects (default 10). */
  minCountDelta?: number;
  /** Sites kept per entry (default 5). */
  sites?: number;
}

/**
 * Types that grew between two snapshots: the application's classes first, then builtins, each
 * by growth. tracemalloc cannot say which type an
 * allocation site made, so every entry carries the same list: the sites that grew most.
 */
export function diffPythonSnapshots(
  before: PythonHeapCounts,
  after: PythonHeapCounts,
  options: PythonDiffOptions = {},
): PythonGrowth[] {
  const minCount = options.minCountDelta ?? 10;
  const earlier = new Map(before.types.map((t) => [t.name, t]));
  const sizeBefore = new Map(before.tracemalloc.map((s) => [`${s.file}:${s.line}`, s.sizeBytes]));
  const sites = after.tracemalloc
    .map((s) => ({
      site: `${s.file}:${s.line}`,
      growth: s.sizeBytes - (sizeBefore.get(`${s.file}:${s.line}`) ?? 0),
    }))
    .filter((s) => s.growth > 0)
    .sort((a, b) => b.growth - a.growth)
    .slice(0, options.sites ?? 5)
    .map((s) => s.site);
  return after.types
    .map((t) => ({
      name: t.name,
      countDelta: t.count - (earlier.get(t.name)?.count ?? 0),
      sizeDelta: t.sizeBytes - (earlier.get(t.name)?.sizeBytes ?? 0),
      retainers: sites,
    }))
    .filter((g) => g.countDelta >= minCount)
    .sort(
      (a, b) =>
        Number(isBuiltin(a.name)) - Number(isBuiltin(b.name)) ||
        b.countDelta - a.countDelta ||
        b.sizeDelta - a.sizeDelta,
    );
}

/**
 * Builtins (`dict`, `list`) grow along with whatever holds them; the application's own classes
 * (named `module.Class`) say what leaks, so they are listed first.
 */
function isBuiltin(name: string): boolean {
  return !name.includes('.');
}
