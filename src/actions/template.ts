import type { ActionContext } from './spec.js';

const PLACEHOLDER = /\{(pid|name|rss|target|rule)\}/g;

/**
 * Fills `{pid}`, `{name}`, `{rss}` (bytes), `{target}` and `{rule}` into each argv element on its
 * own. Values are inserted in one pass, so a process calling itself `{pid}` is not expanded
 * again, and each stays inside the one argument it was written in: with no shell involved, a
 * name like `$(touch /tmp/pwned);` is just bytes.
 */
export function substitute(argv: readonly string[], context: ActionContext): string[] {
  const values: Record<string, string> = {
    pid: String(context.sample.pid),
    name: context.sample.name,
    rss: context.sample.rss === undefined ? '' : String(context.sample.rss),
    target: context.target,
    rule: context.rule,
  };
  return argv.map((arg) => arg.replace(PLACEHOLDER, (_, key: string) => values[key] ?? ''));
}

/** The same facts as environment variables, for scripts that prefer them to arguments. */
export function actionEnv(context: ActionContext): Record<string, string> {
  const { sample } = context;
  const env: Record<string, string> = {
    MEMWARDEN_PID: String(sample.pid),
    MEMWARDEN_START_TICKS: String(sample.startTicks),
    MEMWARDEN_NAME: sample.name,
    MEMWARDEN_TARGET: context.target,
    MEMWARDEN_RULE: context.rule,
    MEMWARDEN_MESSAGE: context.message,
  };
  if (sample.rss !== undefined) env.MEMWARDEN_RSS_BYTES = String(sample.rss);
  if (sample.memPercent !== undefined) env.MEMWARDEN_MEM_PERCENT = sample.memPercent.toFixed(2);
  return env;
}
