/** Runs an ES module snippet as the unprivileged user `nobody` and returns its JSON output. */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';

export const NOBODY = 65534;

export function runAsNobody<T>(script: string): T {
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    uid: NOBODY,
    gid: NOBODY,
    encoding: 'utf8',
    cwd: '/',
  });
  assert.equal(out.status, 0, out.stderr);
  return JSON.parse(out.stdout) as T;
}

/**
 * The same, without blocking this process: for scripts that talk to a server running in it.
 * The snippet gets its arguments as `process.argv.slice(1)`.
 */
export function runAsNobodyAsync<T>(script: string, args: readonly string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script, ...args],
      { uid: NOBODY, gid: NOBODY, encoding: 'utf8', cwd: '/', timeout: 30_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as T);
      },
    );
  });
}
