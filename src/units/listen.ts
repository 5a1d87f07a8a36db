import { MemwardenError } from '../errors.js';

export const DEFAULT_LISTEN_HOST = '127.0.0.1';

/**
 * The one reading of a listen address, for `--listen` and the config's `listen:` alike:
 * `9464` (on 127.0.0.1), `127.0.0.1:9464`, `[::1]:9464`, `localhost:9464`. Port 0 asks the
 * system for a free port (the server says which). Throws MW_BAD_VALUE with what was expected.
 */
export function parseListen(text: string): { host: string; port: number } {
  const written = text.trim();
  const m = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):)?(\d{1,5})$/.exec(written);
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2] ?? DEFAULT_LISTEN_HOST;
  if (!m || port > 65535)
    throw new MemwardenError(
      'MW_BAD_VALUE',
      `invalid listen address '${text}': expected a port (9464) or HOST:PORT (127.0.0.1:9464), port 0–65535`,
    );
  return { host, port };
}
