import { MemwardenError } from '../errors.js';

/** `127.0.0.1:9464`, `[::1]:9464`, `localhost:0` → host and port. The port is required. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2];
  if (!m || host === undefined || port > 65535)
    throw new MemwardenError(
      'MW_BAD_VALUE',
      `invalid listen address '${text}': expected e.g. 127.0.0.1:9464`,
    );
  return { host, port };
}
