/** Runs an ES module snippet as the unprivileged user `nobody` and returns its JSON output. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

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
