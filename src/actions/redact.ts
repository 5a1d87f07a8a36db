/** Shown instead of a secret. */
export const REDACTED = '<redacted>';

// Over-redacting a harmless `--author=x` costs little; leaking a token into a webhook or a
// dashboard costs a lot, so the key pattern is deliberately broad.
const SECRET_KEY =
  /(pass(word|wd)?|secret|token|api[-_]?key|auth|credential|private[-_]?key|access[-_]?key)/i;
const KEY_VALUE = /^(-{0,2}[A-Za-z0-9_.-]+)=/;
const URL_USERINFO = /^([a-z][a-z0-9+.-]*:\/\/[^/:@\s]*:)[^/@\s]*@/i;

/**
 * A command line with secret-looking arguments hidden, for everything that leaves the process:
 * logs, the store, webhooks, the dashboard and metrics. Handles `--password=x`, `token=x`,
 * `--token x` (the value is the next argument) and `scheme://user:pass@host`.
 */
export function redact(cmdline: readonly string[]): string[] {
  const out: string[] = [];
  let hideNext = false;
  for (const arg of cmdline) {
    if (hideNext) {
      out.push(REDACTED);
      hideNext = false;
      continue;
    }
    const keyValue = KEY_VALUE.exec(arg);
    if (keyValue?.[1] !== undefined && SECRET_KEY.test(keyValue[1])) {
      out.push(`${keyValue[1]}=${REDACTED}`);
      continue;
    }
    if (arg.startsWith('-') && !arg.includes('=') && SECRET_KEY.test(arg)) {
      hideNext = true;
      out.push(arg);
      continue;
    }
    out.push(arg.replace(URL_USERINFO, `$1${REDACTED}@`));
  }
  return out;
}
