import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { isMemwardenError } from '../../src/errors.js';
import { readCredentials } from '../../src/proc/index.js';
import { type ActionRequest, DashboardServer, LiveHistory } from '../../src/ui/index.js';
import { rawRequest } from '../helpers/http.js';
import { pidOf, start } from '../helpers/processes.js';
import { fakeProcess, fakeTick } from '../helpers/ticks.js';

describe('dashboard server, safe by default (scenario 38)', () => {
  let server: DashboardServer;
  const calls: ActionRequest[] = [];
  // The action's target is a real process: the server checks who owns it.
  let target: { pid: number; startTicks: number };

  before(async () => {
    const pid = pidOf(start('sleep', ['1000']));
    target = { pid, startTicks: readCredentials(pid)?.startTicks ?? -1 };
    const history = new LiveHistory(10);
    server = await DashboardServer.start({
      port: 0,
      history,
      actions: async (request) => {
        calls.push(request);
        return { ok: true, message: `${request.action} done` };
      },
    });
    const tick = fakeTick([{ name: 'api', processes: [fakeProcess(4242)] }]);
    history.push(tick);
    server.publish(tick);
  });
  after(() => server.close());

  function post(headers: Record<string, string>, body = JSON.stringify({ ...target, action: 'gc' })) {
    return rawRequest(server.port, {
      method: 'POST',
      path: '/api/action',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
  }

  it('listens on 127.0.0.1 only', () => {
    const sockets = execFileSync('ss', ['-Hltn', `sport = :${server.port}`], { encoding: 'utf8' });
    const locals = sockets
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[3]);
    assert.deepEqual(locals, [`127.0.0.1:${server.port}`]);
  });

  for (const host of ['evil.example:PORT', '0x7f.1', '2130706433', '127.1', 'localhost.evil.example']) {
    it(`answers Host: ${host} with 403`, async () => {
      const res = await rawRequest(server.port, {
        headers: { host: host.replace('PORT', String(server.port)) },
      });
      assert.equal(res.status, 403);
      assert.doesNotMatch(res.body, /memwarden_/);
    });
  }

  for (const host of ['localhost:PORT', '127.0.0.1:PORT', '[::1]:PORT', 'LOCALHOST']) {
    it(`serves Host: ${host}`, async () => {
      const res = await rawRequest(server.port, {
        path: '/metrics',
        headers: { host: host.replace('PORT', String(server.port)) },
      });
      assert.equal(res.status, 200);
      assert.match(res.body, /^memwarden_up 1$/m);
    });
  }

  it('sends a strict CSP and no inline script in the page', async () => {
    const res = await rawRequest(server.port);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-security-policy']), /default-src 'self'; script-src 'self';/);
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    for (const script of res.body.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)) {
      assert.match(script[1] ?? '', /src="\/static\//);
      assert.equal(script[2], '');
    }
  });

  it('refuses a POST from a foreign Origin', async () => {
    const res = await post({ origin: 'http://evil.example', 'x-csrf-token': server.csrf });
    assert.equal(res.status, 403);
    assert.equal(calls.length, 0);
  });

  it('refuses a POST without the CSRF token, or with a wrong one', async () => {
    const origin = `http://127.0.0.1:${server.port}`;
    assert.equal((await post({ origin })).status, 403);
    assert.equal((await post({ origin, 'x-csrf-token': 'guess' })).status, 403);
    assert.equal(
      (await post({ origin, 'x-csrf-token': server.csrf, 'sec-fetch-site': 'cross-site' })).status,
      403,
    );
    assert.equal(calls.length, 0);
  });

  it('carries out a same-origin POST with the CSRF token, once', async () => {
    const res = await post({ origin: `http://127.0.0.1:${server.port}`, 'x-csrf-token': server.csrf });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(JSON.parse(res.body), { ok: true, message: 'gc done' });
    assert.deepEqual(calls, [{ ...target, action: 'gc', askedBy: 'uid 0 (root)' }]);
    calls.length = 0;
  });

  it('rejects a malformed action body', async () => {
    const headers = { origin: `http://127.0.0.1:${server.port}`, 'x-csrf-token': server.csrf };
    assert.equal((await post(headers, '{"pid":"1;rm","action":"gc"}')).status, 400);
    assert.equal((await post(headers, '{"pid":1,"action":"kill"}')).status, 400);
    assert.equal((await post(headers, '{"pid":1,"startTicks":-1,"action":"gc"}')).status, 400);
    assert.equal((await post(headers, 'x'.repeat(10_000))).status, 413);
    assert.equal(calls.length, 0);
  });

  it('never acts on a GET', async () => {
    const res = await rawRequest(server.port, { path: '/api/action?pid=4242&action=gc' });
    assert.equal(res.status, 404);
    assert.equal((await rawRequest(server.port, { method: 'PUT', path: '/api/action' })).status, 405);
    assert.equal(calls.length, 0);
  });
});

describe('dashboard server with a token', () => {
  it('refuses to listen on a non-loopback address without a token', async () => {
    await assert.rejects(
      DashboardServer.start({ host: '0.0.0.0', port: 0, history: new LiveHistory(1) }),
      (err) => isMemwardenError(err) && err.code === 'MW_USAGE' && /without a token/.test(err.message),
    );
  });

  it('needs the token for every request, and turns ?token= into a session cookie', async () => {
    const token = 'correct-horse-battery-staple';
    const server = await DashboardServer.start({
      host: '0.0.0.0',
      port: 0,
      token,
      history: new LiveHistory(1),
    });
    try {
      assert.equal((await rawRequest(server.port, { path: '/metrics' })).status, 401);
      assert.equal((await rawRequest(server.port, { path: '/api/live' })).status, 401);
      const bearer = await rawRequest(server.port, {
        path: '/metrics',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(bearer.status, 200);
      assert.equal(
        (await rawRequest(server.port, { path: '/metrics', headers: { authorization: 'Bearer wrong' } }))
          .status,
        401,
      );
      const login = await rawRequest(server.port, { path: `/?token=${token}` });
      assert.equal(login.status, 303);
      const cookie = String(login.headers['set-cookie']).split(';')[0] ?? '';
      assert.match(String(login.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
      assert.ok(!cookie.includes(token));
      assert.equal((await rawRequest(server.port, { path: '/api/live', headers: { cookie } })).status, 200);
      // The wildcard address is no Host name: only loopback names and configured ones pass.
      assert.equal(
        (await rawRequest(server.port, { headers: { host: `0.0.0.0:${server.port}`, cookie } })).status,
        403,
      );
    } finally {
      await server.close();
    }
  });
});
