import { type ExecValues, renderExecArgv } from '../rules/index.js';
import type { ActionContext } from './spec.js';

/**
 * The argv of an exec action for one process. Each value stays inside the one argument it was
 * written in: with no shell involved, a process named `$(touch /tmp/pwned);` is just bytes.
 */
export function substitute(argv: readonly string[], context: ActionContext): string[] {
  const { sample } = context;
  const values: ExecValues = {
    pid: sample.pid,
    name: sample.name,
    target: context.target,
    rule: context.rule,
  };
  if (sample.rss !== undefined) values.rss = sample.rss;
  return renderExecArgv(argv, values);
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
