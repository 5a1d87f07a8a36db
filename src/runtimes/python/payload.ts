import { readFileSync } from 'node:fs';

/** The probes the agent answers with, run as they are inside targets that have no agent. */
const PROBES_URL = new URL('../../../python/memwarden_agent/probes.py', import.meta.url);

let probesSource: string | undefined;

export type ProbeCommand = 'gc' | 'snapshot' | 'memory';

/**
 * One line of Python that runs a probe inside the target and writes its answer to `resultPath`.
 * The program travels base64-encoded, so nothing in it needs escaping for lldb or C, and runs in
 * a namespace of its own, so the target's `__main__` gains no names.
 */
export function injectedLine(
  command: ProbeCommand,
  args: Readonly<Record<string, number>>,
  resultPath: string,
): string {
  probesSource ??= readFileSync(PROBES_URL, 'utf8');
  // JSON strings and number-valued objects are valid Python literals too.
  const program = `${probesSource}\nrun_to_file(${JSON.stringify(command)}, ${JSON.stringify(args)}, ${JSON.stringify(resultPath)})\n`;
  const encoded = Buffer.from(program, 'utf8').toString('base64');
  return `exec(compile(__import__('base64').b64decode('${encoded}'), '<memwarden>', 'exec'), {'__name__': '__memwarden__'})`;
}
