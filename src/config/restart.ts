import type { ParseContext } from './context.js';
import type { KeyPath } from './issues.js';
import type { Entry } from './reader.js';
import { DEFAULT_RESTART_POLICY, type RestartPolicy } from './types.js';

const RESTART_KEYS = ['max', 'within', 'backoff', 'startsecs'];

export function parseRestart(
  ctx: ParseContext,
  entry: Entry | undefined,
  path: KeyPath,
  hasRun: boolean,
): RestartPolicy | undefined {
  if (entry === undefined) return undefined;
  const r = ctx.reader;
  if (!hasRun) {
    r.report(entry.key, path, 'restart applies only to a target memwarden starts itself (add run: [argv])');
    return undefined;
  }
  const fields = r.map(entry.value, path, RESTART_KEYS, entry.key);
  if (fields === undefined) return undefined;
  const policy = { ...DEFAULT_RESTART_POLICY };
  const max = fields.get('max');
  const within = fields.get('within');
  const backoff = fields.get('backoff');
  const startsecs = fields.get('startsecs');
  const maxValue =
    max === undefined
      ? policy.max
      : r.integer(max.value, [...path, 'max'], 1, 'a whole number of restarts, at least 1', max.key);
  const withinMs =
    within === undefined
      ? policy.withinMs
      : r.duration(within.value, [...path, 'within'], 1, '10m', within.key);
  const backoffMs =
    backoff === undefined
      ? policy.backoffMs
      : r.duration(backoff.value, [...path, 'backoff'], 0, '1s', backoff.key);
  const startSecsMs =
    startsecs === undefined
      ? policy.startSecsMs
      : r.duration(startsecs.value, [...path, 'startsecs'], 0, '1s', startsecs.key);
  if (
    maxValue === undefined ||
    withinMs === undefined ||
    backoffMs === undefined ||
    startSecsMs === undefined
  )
    return undefined;
  return { max: maxValue, withinMs, backoffMs, startSecsMs };
}
