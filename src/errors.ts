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
  | 'MW_NO_PROCESS' // a pid that is not there (or exiting, or now running another program)
  | 'MW_PID_REUSED' // a pid that now names another process than the one decided about
  | 'MW_PROTECTED' // a pid nothing may touch: init, memwarden itself, a kernel thread, a zombie…
  | 'MW_PERMISSION' // the kernel said no
  | 'MW_UNSUPPORTED' // the operation cannot apply to this target
  | 'MW_TIMEOUT'
  | 'MW_INPUT' // a data file that is not what it claims to be
  | 'MW_FAILED'; // anything else that went wrong while working

/** 2 for a usage or config error, 1 for a failure while working; a new code must be placed. */
export function exitCodeOf(code: ErrorCode): 1 | 2 {
  switch (code) {
    case 'MW_USAGE':
    case 'MW_CONFIG':
    case 'MW_BAD_VALUE':
    case 'MW_NO_PIDFILE':
      return 2;
    case 'MW_NO_PROCESS':
    case 'MW_PID_REUSED':
    case 'MW_PROTECTED':
    case 'MW_PERMISSION':
    case 'MW_UNSUPPORTED':
    case 'MW_TIMEOUT':
    case 'MW_INPUT':
    case 'MW_FAILED':
      return 1;
    default:
      return unreachable(code);
  }
}

/** For the default branch of a switch that covers every case: a new case fails to compile. */
export function unreachable(value: never): never {
  throw new Error(`unexpected value: ${String(value)}`);
}

export class MemwardenError extends Error {
  override readonly name = 'MemwardenError';
  /** `cause`: the error this one explains (a system error, a protocol failure), kept for logs. */
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** 2 for a usage or config error, 1 for a failure while working. */
  get exitCode(): 1 | 2 {
    return exitCodeOf(this.code);
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
