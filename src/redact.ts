/**
 * Command lines leave memwarden in logs, the history file, webhooks, the dashboard and metrics,
 * all easy to copy around, so arguments that look like credentials are masked first.
 */
const SECRET_KEY =
  /(pass(word|wd|phrase)?|secret|token|api[-_]?key|access[-_]?key|auth|credential|private[-_]?key|pwd)$/i;
/** Shown instead of a secret. */
export const REDACTED = '***';
function keyOf(flag: string): string {
  return flag.replace(/^-+/, '');
}

function redactUrlPassword(arg: string): string {
  return arg.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^/\s:@]*):[^/\s@]+@/gi, `$1:${REDACTED}@`);
}

/** argv with secret-looking values masked: `--password=x`, `--token x`, `API_KEY=x`, `u:p@host`. */
export function redact(argv: readonly string[]): string[] {
  const out: string[] = [];
  let maskNext = false;
  for (const arg of argv) {
    if (maskNext) {
      out.push(REDACTED);
      maskNext = false;
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq > 0 && SECRET_KEY.test(keyOf(arg.slice(0, eq)))) {
      out.push(`${arg.slice(0, eq + 1)}${REDACTED}`);
      continue;
    }
    // `--password hunter2` and `-p hunter2` (mysql's habit) hide the value in the next argument.
    if (arg.startsWith('-') && eq < 0 && (SECRET_KEY.test(keyOf(arg)) || arg === '-p')) {
      maskNext = true;
    }
    out.push(redactUrlPassword(arg));
  }
  return out;
}

/**
 * Redacted argvs by the argv they came from: the process reader hands the same array for a
 * process until it reads the command line anew, so each one is redacted once, and the redacted
 * array stays the same object for as long (consumers cache by it).
 */
const redactedByArgv = new WeakMap<string[], string[]>();

/** `redact(argv)`, made once per argv array; an argv with nothing to hide is returned as is. */
export function redactedArgv(argv: string[]): string[] {
  let out = redactedByArgv.get(argv);
  if (out === undefined) {
    const masked = redact(argv);
    out = masked.every((arg, i) => arg === argv[i]) ? argv : masked;
    redactedByArgv.set(argv, out);
  }
  return out;
}
