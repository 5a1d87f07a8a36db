/**
 * Command lines are stored for people to recognise a process, and a history file is easy to copy
 * around, so arguments that look like credentials are masked before they are written.
 */
const SECRET_KEY =
  /(pass(word|wd|phrase)?|secret|token|api[-_]?key|access[-_]?key|auth|credential|private[-_]?key|pwd)$/i;
const MASK = '***';
/** A cmdline can be megabytes (scenario 4); the store keeps enough to recognise it. */
const MAX_STORED_CHARS = 4096;

function keyOf(flag: string): string {
  return flag.replace(/^-+/, '');
}

function redactUrlPassword(arg: string): string {
  return arg.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^/\s:@]*):[^/\s@]+@/gi, `$1:${MASK}@`);
}

/** argv with secret-looking values masked: `--password=x`, `--token x`, `API_KEY=x`, `u:p@host`. */
export function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  let maskNext = false;
  for (const arg of argv) {
    if (maskNext) {
      out.push(MASK);
      maskNext = false;
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq > 0 && SECRET_KEY.test(keyOf(arg.slice(0, eq)))) {
      out.push(`${arg.slice(0, eq + 1)}${MASK}`);
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

/** The redacted argv as stored: JSON, cut to a bounded number of characters. */
export function storedCmdline(argv: readonly string[]): string {
  const kept: string[] = [];
  let budget = MAX_STORED_CHARS;
  for (const arg of redactArgv(argv)) {
    if (budget <= 0) break;
    kept.push(arg.slice(0, budget));
    budget -= arg.length;
  }
  return JSON.stringify(kept);
}
