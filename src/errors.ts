/**
 * The one error type for expected failures. `code` is stable (tests and callers match on it);
 * `message` is a single line a user can act on. The CLI turns usage and config codes into exit
 * code 2 and everything else into 1, and never prints a stack trace for a MemwardenError.
 */
export type ErrorCode =
  | 'MW_USAGE' // wrong flag, wrong argument
  | 'MW_CONFIG' // a config file that does not validate
  | 'MW_BAD_VALUE' // a size, duration, percentage, regex or pattern that does not parse
  | 'MW_NO_PIDFILE' // a pid file that is missing or unreadable
  | 'MW_NO_PROCESS' // a pid that is not there (or no longer the same process)
  | 'MW_PERMISSION' // the kernel said no
  | 'MW_UNSUPPORTED' // the operation cannot apply to this target
  | 'MW_TIMEOUT'
  | 'MW_INPUT' // a data file that is not what it claims to be
  | 'MW_FAILED'; // anything else that went wrong while working

const USAGE_CODES: ReadonlySet<ErrorCode> = new Set([
  'MW_USAGE',
  'MW_CONFIG',
  'MW_BAD_VALUE',
  'MW_NO_PIDFILE',
]);

export class MemwardenError extends Error {
  override readonly name = 'MemwardenError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** 2 for a usage or config error, 1 for a failure while working. */
  get exitCode(): 1 | 2 {
    return USAGE_CODES.has(this.code) ? 2 : 1;
  }
}

export function isMemwardenError(err: unknown): err is MemwardenError {
  return err instanceof MemwardenError;
}

/** The errno code of a Node system error, or undefined for anything else. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
