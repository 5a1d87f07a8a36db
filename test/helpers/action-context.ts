/** Samples of real processes, as the daemon would hand them to the action runner. */

import type { ActionContext } from '../../src/actions/index.js';
import { ProcReader } from '../../src/proc/index.js';
import { type ProcessSample, Sampler } from '../../src/sample/index.js';

/** Reads the process now, through the sampler as the daemon does, or throws when it is not there. */
export function sampleOf(pid: number): ProcessSample {
  const reader = new ProcReader();
  const record = reader.read(pid);
  if (record === undefined) throw new Error(`pid ${pid} is not there`);
  const [sample] = new Sampler(reader).processes([record], 0, false);
  reader.close();
  if (sample === undefined) throw new Error(`pid ${pid} gave no sample`);
  return sample;
}

export function contextFor(sample: ProcessSample, overrides: Partial<ActionContext> = {}): ActionContext {
  return {
    target: 'test-target',
    sample,
    rule: 'rule-1',
    message: `rss of ${sample.name} above the limit`,
    cycle: 1,
    ...overrides,
  };
}
