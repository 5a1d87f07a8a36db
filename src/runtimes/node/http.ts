import { request } from 'node:http';
import { MemwardenError } from '../../errors.js';
import { isRecord } from './cdp.js';

const MAX_LIST_BYTES = 64 * 1024;

/**
 * The WebSocket path of the first target in an inspector's `/json/list`, and the local port the
 * request came from (to tell our connections from others'). Only the path is taken from the
 * answer: the host and port are the ones whose owner was checked, so a listing cannot send us
 * anywhere else.
 */
export function fetchTargetPath(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<{ path: string; localPort: number | undefined }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let localPort: number | undefined;
    const req = request(
      { host, port, path: '/json/list', method: 'GET', agent: false, timeout: timeoutMs },
      (res) => {
        localPort = res.socket.localPort;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_LIST_BYTES) {
            finish(new MemwardenError('MW_FAILED', `inspector on port ${port} sent an oversized /json/list`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          if (res.statusCode !== 200) {
            finish(new MemwardenError('MW_FAILED', `inspector on port ${port} answered ${res.statusCode}`));
            return;
          }
          finish(undefined, Buffer.concat(chunks).toString('utf8'));
        });
        res.on('error', (err) =>
          finish(new MemwardenError('MW_FAILED', `inspector /json/list: ${err.message}`)),
        );
      },
    );
    req.on('timeout', () =>
      finish(
        new MemwardenError('MW_TIMEOUT', `inspector on port ${port} did not answer within ${timeoutMs} ms`),
      ),
    );
    req.on('error', (err) =>
      finish(new MemwardenError('MW_FAILED', `inspector on port ${port}: ${err.message}`, { cause: err })),
    );
    req.end();

    function finish(err: Error | undefined, body?: string) {
      if (settled) return;
      settled = true;
      req.destroy();
      if (err) {
        reject(err);
        return;
      }
      try {
        resolve({ path: parseTargetPath(body ?? ''), localPort });
      } catch (parseErr) {
        reject(parseErr);
      }
    }
  });
}

function parseTargetPath(body: string): string {
  let list: unknown;
  try {
    list = JSON.parse(body);
  } catch {
    throw new MemwardenError('MW_FAILED', 'the inspector sent a /json/list that is not JSON');
  }
  if (!Array.isArray(list)) throw new MemwardenError('MW_FAILED', 'the inspector /json/list is not a list');
  for (const entry of list) {
    if (!isRecord(entry) || typeof entry.webSocketDebuggerUrl !== 'string') continue;
    const m = /^wss?:\/\/[^/]+(\/[A-Za-z0-9._~-]+)$/.exec(entry.webSocketDebuggerUrl);
    if (m?.[1]) return m[1];
  }
  throw new MemwardenError('MW_FAILED', 'the inspector lists no debuggable target');
}
