/** Flag names whose value is a secret: `--password=x`, `--api-key x`, `-p`-style forms are not guessed. */
const SECRET_FLAG =
  /^(--?[\w.-]*(?:password|passwd|pwd|secret|token|api[-_]?key|access[-_]?key|credentials?|auth))(=.*)?$/i;
const URL_CREDENTIALS = /^([a-z][a-z0-9+.-]*:\/\/[^/:@\s]*:)[^/@\s]+@/i;

/**
 * A command line with secret-looking values replaced by `***` before it is shown or exported:
 * people do pass `--password=hunter2` and `redis://user:pw@host` on command lines.
 */
export function redactArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  let hideNext = false;
  for (const arg of argv) {
    if (hideNext) {
      out.push('***');
      hideNext = false;
      continue;
    }
    const flag = SECRET_FLAG.exec(arg);
    if (flag) {
      if (flag[2] !== undefined) out.push(`${flag[1]}=***`);
      else {
        out.push(arg);
        hideNext = true;
      }
      continue;
    }
    out.push(arg.replace(URL_CREDENTIALS, '$1***@'));
  }
  return out;
}
