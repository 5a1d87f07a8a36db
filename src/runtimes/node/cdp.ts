import WebSocket from 'ws';
import { MemwardenError } from '../../errors.js';

/** A CDP event: `method` and its `params`, validated only as far as being an object. */
export interface CdpEvent {
  method: string;
  params: Record<string, unknown>;
}

interface Pending {
  method: string;
  resolve(result: Record<string, unknown>): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** What one inspector message may weigh; a snapshot chunk is far smaller, a bigger one is hostile. */
const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A Chrome DevTools Protocol connection over one WebSocket. Every command has a timeout; when
 * the socket closes or errors, every pending command fails at once, and `close()` always
 * releases the socket (a terminate, never a closing handshake that a frozen peer could stall).
 */
export class CdpClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(event: CdpEvent) => void>();
  private failure: Error | undefined;

  private constructor(
    private readonly ws: WebSocket,
    /** The connection's own port on this side, to tell it from other clients of the inspector. */
    readonly localPort: number | undefined,
  ) {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.dispatch(data.toString());
    });
    ws.on('close', () => this.fail(new MemwardenError('MW_FAILED', 'the inspector connection closed')));
    ws.on('error', (err) =>
      this.fail(new MemwardenError('MW_FAILED', `inspector connection: ${err.message}`)),
    );
  }

  /** Connects within `timeoutMs`, or rejects and leaves nothing open. */
  static connect(url: string, timeoutMs: number): Promise<CdpClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        perMessageDeflate: false,
        maxPayload: MAX_MESSAGE_BYTES,
        handshakeTimeout: timeoutMs,
        followRedirects: false,
      });
      const timer = setTimeout(
        () => done(new MemwardenError('MW_TIMEOUT', `no inspector connection within ${timeoutMs} ms`)),
        timeoutMs,
      );
      let localPort: number | undefined;
      const onUpgrade = (res: { socket: { localPort?: number } }) => {
        localPort = res.socket.localPort;
      };
      const onOpen = () => done();
      const onError = (err: Error) =>
        done(
          new MemwardenError('MW_FAILED', `cannot connect to the inspector: ${err.message}`, { cause: err }),
        );
      const onClose = () => done(new MemwardenError('MW_FAILED', 'the inspector closed the connection'));
      function done(err?: Error) {
        clearTimeout(timer);
        ws.off('open', onOpen);
        ws.off('error', onError);
        ws.off('close', onClose);
        ws.off('upgrade', onUpgrade);
        if (err) {
          ws.on('error', () => {});
          ws.terminate();
          reject(err);
        } else resolve(new CdpClient(ws, localPort));
      }
      ws.once('upgrade', onUpgrade);
      ws.once('open', onOpen);
      ws.once('error', onError);
      ws.once('close', onClose);
    });
  }

  /** Sends a command; resolves with its `result`, rejects on a protocol error, a timeout or a close. */
  send(
    method: string,
    params: Record<string, unknown> = {},
    timeoutMs = 5000,
  ): Promise<Record<string, unknown>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new MemwardenError('MW_TIMEOUT', `${method} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { method, resolve, reject, timer });
      this.ws.send(JSON.stringify({ id, method, params }), (err) => {
        if (err) this.settle(id, new MemwardenError('MW_FAILED', `cannot send ${method}: ${err.message}`));
      });
    });
  }

  onEvent(listener: (event: CdpEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Closes the socket now; pending commands fail. Safe to call twice. */
  close(): void {
    this.fail(new MemwardenError('MW_FAILED', 'the inspector connection was closed'));
    this.ws.terminate();
  }

  /**
   * A closing handshake, so that what was sent just before is read by the peer before the
   * connection ends (a bare terminate may reset it); bounded, then terminated anyway.
   */
  closeGracefully(timeoutMs: number): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(finish, timeoutMs);
      const ws = this.ws;
      function finish() {
        clearTimeout(timer);
        ws.off('close', finish);
        resolve();
      }
      ws.once('close', finish);
      ws.close(1000);
    }).then(() => this.close());
  }

  private dispatch(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (!isRecord(message)) return;
    if (typeof message.id === 'number') {
      const error = message.error;
      if (isRecord(error)) {
        const pending = this.pending.get(message.id);
        const what = typeof error.message === 'string' ? error.message : 'protocol error';
        this.settle(message.id, new MemwardenError('MW_FAILED', `${pending?.method ?? 'command'}: ${what}`));
      } else {
        this.settle(message.id, undefined, isRecord(message.result) ? message.result : {});
      }
      return;
    }
    if (typeof message.method === 'string') {
      const event = { method: message.method, params: isRecord(message.params) ? message.params : {} };
      for (const listener of this.listeners) listener(event);
    }
  }

  private settle(id: number, err: Error | undefined, result?: Record<string, unknown>): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (err) pending.reject(err);
    else pending.resolve(result ?? {});
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const id of [...this.pending.keys()]) this.settle(id, this.failure);
  }
}

/**
 * `Runtime.evaluate` with the value returned by value. The command-line API supplies `require`
 * in every target, CommonJS, ESM or `-e`, unlike `process.mainModule`.
 */
export async function evaluate(
  client: CdpClient,
  expression: string,
  timeoutMs: number,
  options: { awaitPromise?: boolean } = {},
): Promise<unknown> {
  const response = await client.send(
    'Runtime.evaluate',
    {
      expression,
      returnByValue: true,
      includeCommandLineAPI: true,
      awaitPromise: options.awaitPromise ?? false,
      silent: true,
    },
    timeoutMs,
  );
  if (isRecord(response.exceptionDetails)) {
    const text = response.exceptionDetails.text;
    throw new MemwardenError(
      'MW_FAILED',
      `evaluation failed in the target: ${typeof text === 'string' ? text : 'exception'}`,
    );
  }
  const result = response.result;
  return isRecord(result) ? result.value : undefined;
}
