/** A real jemalloc process for the release tests and benchmarks: redis-server, fed over a socket. */
import { createConnection } from 'node:net';

/**
 * Sends `count` commands built by `command(i)` down one connection and resolves once every
 * reply has come back (`replyBytes` each: `+OK\r\n` for SET, `:1\r\n` for DEL).
 */
export function redisPipeline(
  port: number,
  count: number,
  command: (i: number) => string[],
  replyBytes: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let received = 0;
    socket.on('data', (chunk) => {
      received += chunk.length;
      if (received >= count * replyBytes) {
        socket.end();
        resolve();
      }
    });
    socket.once('error', reject);
    socket.once('connect', () => {
      const parts: string[] = [];
      for (let i = 0; i < count; i++) {
        const args = command(i);
        parts.push(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
        if (parts.length === 1000 || i === count - 1) socket.write(parts.splice(0).join(''));
      }
    });
  });
}

/** Sets `keys` values of `valueBytes` each, then deletes them all: the pages stay in jemalloc. */
export async function fillAndEmpty(port: number, keys: number, valueBytes = 4000): Promise<void> {
  const value = 'x'.repeat(valueBytes);
  await redisPipeline(port, keys, (i) => ['SET', `page:${i}`, value], 5);
  await redisPipeline(port, keys, (i) => ['DEL', `page:${i}`], 4);
}
