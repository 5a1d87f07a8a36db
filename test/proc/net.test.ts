import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import {
  canonicalAddress,
  connectionPeerUid,
  isLoopback,
  isWildcard,
  listenersOf,
  parseTcpListeners,
  readTcpListeners,
  socketInodes,
} from '../../src/proc/index.js';
import { pidOf, start, waitForExit, waitForLine } from '../helpers/processes.js';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:240D 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:240D 0100007F:CE4E 01 00000000:00000000 03:00001487 00000000     0        0 4243 3 0000000000000000
   2: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 17 1 0000000000000000 100 0 0 10 0
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 100 1 0000000000000000 100 0 0 10 0
   2: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 101 1 0000000000000000 100 0 0 10 0
`;

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, host, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

describe('listening TCP sockets', () => {
  it('parses IPv4 listeners and skips established connections', () => {
    assert.deepEqual(parseTcpListeners(TCP), [
      { address: '127.0.0.1', family: 4, port: 9229, inode: 4242, uid: 1000 },
      { address: '0.0.0.0', family: 4, port: 80, inode: 17, uid: 0 },
    ]);
  });

  it('parses IPv6 listeners word by word and tells loopback from wildcard', () => {
    const listeners = parseTcpListeners(TCP6);
    assert.deepEqual(
      listeners.map((l) => [l.port, isLoopback(l.address), isWildcard(l.address)]),
      [
        [8080, true, false],
        [8081, true, false],
        [22, false, true],
      ],
    );
    assert.equal(listeners[0]?.address, '0000:0000:0000:0000:0000:0000:0000:0001');
  });

  it('finds a real listener of this process by its socket inode', async () => {
    const server = createServer();
    const port = await listen(server, '127.0.0.1');
    try {
      const mine = listenersOf(process.pid);
      assert.ok(Array.isArray(mine));
      const found = mine.find((l) => l.port === port);
      assert.ok(found, `no listener on ${port} among ${JSON.stringify(mine)}`);
      assert.equal(found.address, '127.0.0.1');
      assert.ok(readTcpListeners().some((l) => l.inode === found.inode));
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("does not count another process's listener as this one's", async () => {
    const child = start(process.execPath, [
      '-e',
      "require('net').createServer().listen(0, '127.0.0.1', function () { console.log('port ' + this.address().port) })",
    ]);
    const line = await waitForLine(child, /^port \d+/);
    const port = Number(line.split(' ')[1]);
    const theirs = listenersOf(pidOf(child));
    assert.ok(Array.isArray(theirs) && theirs.some((l) => l.port === port));
    const mine = listenersOf(process.pid);
    assert.ok(Array.isArray(mine) && !mine.some((l) => l.port === port));
    child.kill('SIGKILL');
    await waitForExit(child);
    assert.equal(socketInodes(pidOf(child)), 'gone');
  });

  it('finds every listener, also those past the first page the kernel hands out', async () => {
    const servers = Array.from({ length: 60 }, () => createServer());
    try {
      const ports = await Promise.all(servers.map((server) => listen(server, '127.0.0.1')));
      const mine = listenersOf(process.pid);
      assert.ok(Array.isArray(mine));
      const found = new Set(mine.map((l) => l.port));
      assert.deepEqual(
        ports.filter((p) => !found.has(p)),
        [],
      );
    } finally {
      await Promise.all(servers.map((server) => new Promise((r) => server.close(r))));
    }
  });
});

describe('the user behind a loopback connection', () => {
  it('writes addresses as the kernel files decode them', () => {
    assert.equal(canonicalAddress('127.0.0.1'), '127.0.0.1');
    assert.equal(canonicalAddress('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(canonicalAddress('::1'), '0000:0000:0000:0000:0000:0000:0000:0001');
    assert.equal(canonicalAddress('fe80::1%eth0'), 'fe80:0000:0000:0000:0000:0000:0000:0001');
    assert.equal(canonicalAddress('1::2::3'), undefined);
    assert.equal(canonicalAddress('localhost'), undefined);
  });

  for (const host of ['127.0.0.1', '::1']) {
    it(`names this process's uid for its own connection over ${host}, and nobody's for none`, async () => {
      const server = createServer();
      const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
      const port = await listen(server, host);
      const client = connect(port, host);
      try {
        const socket = await accepted;
        assert.equal(connectionPeerUid(socket), process.getuid?.());
        // The far end of our own outgoing socket is the server, which is not a client here.
        assert.equal(
          connectionPeerUid({
            localAddress: socket.localAddress,
            localPort: socket.localPort,
            remoteAddress: socket.remoteAddress,
            remotePort: (socket.remotePort ?? 0) + 1,
          }),
          undefined,
        );
      } finally {
        client.destroy();
        await new Promise((r) => server.close(r));
      }
    });
  }
});
