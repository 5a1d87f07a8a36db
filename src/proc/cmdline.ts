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
