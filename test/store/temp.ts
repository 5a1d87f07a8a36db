/** Throwaway directories for the store tests, removed when the test file ends. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
});

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'memwarden-store-'));
  dirs.push(dir);
  return dir;
}
