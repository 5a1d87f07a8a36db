/** A cmdline can be megabytes (scenario 4); the store keeps enough to recognise it. */
const MAX_STORED_CHARS = 4096;

/** The argv as stored (samples carry it redacted already): JSON, cut to a bounded number of characters. */
export function storedCmdline(argv: readonly string[]): string {
  const kept: string[] = [];
  let budget = MAX_STORED_CHARS;
  for (const arg of argv) {
    if (budget <= 0) break;
    kept.push(arg.slice(0, budget));
    budget -= arg.length;
  }
  return JSON.stringify(kept);
}
