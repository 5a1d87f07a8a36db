const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * argv from the raw bytes of `/proc/<pid>/cmdline`, split the way psutil splits it so the two
 * agree: arguments end in NUL; a process that rewrote its title (setproctitle) and left no
 * trailing NUL, or left one single NUL-ended string with spaces in it, is split on spaces.
 * Bytes that are not UTF-8 are replaced, never thrown on.
 */
export function parseCmdline(bytes: Buffer, length: number): string[] {
  if (length === 0) return [];
  const text = decoder.decode(bytes.subarray(0, length));
  const separator = text.endsWith('\0') ? '\0' : ' ';
  const body = text.endsWith(separator) ? text.slice(0, -1) : text;
  const args = body.split(separator);
  if (separator === '\0' && args.length === 1 && body.includes(' ')) return body.split(' ');
  return args;
}

/**
 * argv without the empty arguments at its end: a process that rewrote its title over its
 * argv (redis-server, which blanks the rest) leaves dozens of them, which say nothing and
 * `ps` does not show. Returns the same array when there is nothing to trim.
 */
export function trimArgv(argv: readonly string[]): readonly string[] {
  let end = argv.length;
  while (end > 1 && argv[end - 1] === '') end--;
  return end === argv.length ? argv : argv.slice(0, end);
}
