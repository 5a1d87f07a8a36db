import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BIN, runCli } from '../helpers/cli.js';
import { pidOf, start, waitForExec, waitForExit } from '../helpers/processes.js';

describe('memwarden serve', () => {
  it('refuses --listen 0.0.0.0 without a token, in one line with exit code 2', async () => {
    const env = { ...process.env };
    delete env.MEMWARDEN_TOKEN;
    const { code, stdout, stderr } = await runCli(['serve', '--listen', '0.0.0.0:0'], { env });
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.equal(stderr.trim().split('\n').length, 1);
    assert.match(stderr, /refusing to listen on 0\.0\.0\.0 without a token/);
  });

  it('serves the dashboard, /metrics and the API, with secrets in command lines redacted', async () => {
    const sleeper = start(process.execPath, [
      '-e',
      'setInterval(() => {}, 1000)',
      'serve-target',
      '--password=hunter2',
    ]);
    await waitForExec(pidOf(sleeper), 'hunter2');
    const serve = start(process.execPath, [
      BIN,
      'serve',
      'serve-target',
      '--listen',
      '127.0.0.1:0',
      '--interval',
      '200ms',
    ]);
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let text = '';
        serve.stderr?.on('data', (c: Buffer) => {
          text += c.toString();
          const m = /listening on (http:\/\/\S+)/.exec(text);
          if (m?.[1]) resolve(m[1]);
        });
        serve.once('exit', () => reject(new Error(`serve exited: ${text}`)));
      });
      const metrics = await (await fetch(`${url}metrics`)).text();
      assert.match(metrics, /^memwarden_target_processes\{target="serve-target"\} [1-9]/m);
      const live = await (await fetch(`${url}api/live`)).text();
      assert.match(live, /serve-target --password=\*\*\*"/);
      assert.ok(!live.includes('--password=hunter2'));
      assert.equal((await fetch(url)).status, 200);
    } finally {
      serve.kill('SIGTERM');
      assert.equal(await waitForExit(serve), 0);
      sleeper.kill('SIGKILL');
    }
  });
});
