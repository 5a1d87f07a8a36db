/**
 * The default snapshot file name, `memwarden-<pid>-<time>.<ext>` with a compact UTC stamp
 * (`20260131T120000Z`): one naming for the CLI, the watcher's snapshot action and guard(), so
 * that files from all three sort together and say when they were taken.
 */
export function defaultSnapshotName(pid: number, extension: string, now = new Date()): string {
  const time = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `memwarden-${pid}-${time}${extension}`;
}
