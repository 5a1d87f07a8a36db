/**
 * RELIABILITY.md scenario 1, the part about side effects: a config file with errors makes
 * `watch` exit 2 before it opens anything, so no history file, log file or listening socket is
 * left behind (the taken-port case is the hardening test "(h) leaves no history or log file").
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'memwarden-bad-config-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));

describe('a bad config file (scenario 1)', () => {
  it('scenario 1: watch with a bad config exits 2 in lines naming file:line:col, and opens no history, log or port', async () => {
    const config = join(scratch, 'bad.yaml');
    const store = join(scratch, 'history.db');
    const log = join(scratch, 'watch.log');
    writeFileSync(
      config,
      `store: ${store}\nlog: ${log}\ntargets:\n  - name: web\n    match: x\n    rules:\n      - when: rss > 1GB\n        treshold: 3\n        do: [log]\n`,
      { mode: 0o600 },
    );
    const run = await runCli(['watch', '-c', config, '--listen', '127.0.0.1:0']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`${config.replace(/[.]/g, '\\.')}:8:\\d+`));
    assert.match(run.stderr, /treshold/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    assert.doesNotMatch(run.stderr, /dashboard on/);
    for (const path of [store, `${store}-wal`, log])
      assert.equal(existsSync(path), false, `${path} was created`);
  });
});
