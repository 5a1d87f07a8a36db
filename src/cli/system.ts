import { DEFAULT_SAMPLE_MS, readSystem } from '../sample/index.js';
import { formatBytes, formatDuration, formatPercent, parseDuration } from '../units/index.js';
import { parseCommandArgs, printJson } from './args.js';
import type { Command } from './command.js';

const HELP = `Usage: memwarden system [--json] [--sample DURATION]

The machine: memory total / available / used %, swap, CPU count and CPU % (measured over
--sample, default ${DEFAULT_SAMPLE_MS}ms; 100% = every core busy), load averages, uptime, and
memory pressure (PSI: the share of time some / all tasks stalled waiting for memory).
`;

export const systemCommand: Command = {
  name: 'system',
  help: HELP,
  async run(args) {
    const { values } = parseCommandArgs(args, {
      json: { type: 'boolean' },
      sample: { type: 'string' },
    });
    const sampleMs = values.sample === undefined ? DEFAULT_SAMPLE_MS : parseDuration(values.sample);
    const s = await readSystem({ sampleMs });
    if (values.json) {
      printJson(s);
      return;
    }
    const lines: [string, string][] = [
      [
        'memory',
        `${formatBytes(s.memUsed)} used of ${formatBytes(s.memTotal)} (${formatPercent(s.memPercent)})`,
      ],
      ['available', formatBytes(s.memAvailable)],
      ['swap', `${formatBytes(s.swapTotal - s.swapFree)} used of ${formatBytes(s.swapTotal)}`],
      ['cpu', `${s.cpuCount} cores, ${formatPercent(s.cpuPercent)} busy`],
      ['load', `${s.load1.toFixed(2)} ${s.load5.toFixed(2)} ${s.load15.toFixed(2)}`],
      ['uptime', formatDuration(s.uptimeSeconds * 1000)],
    ];
    // PSI: the share of time tasks stalled waiting for memory, over 10 s / 60 s / 300 s.
    for (const kind of ['some', 'full'] as const) {
      const line = s.pressure?.[kind];
      if (line)
        lines.push([
          `psi ${kind}`,
          `${formatPercent(line.avg10)} ${formatPercent(line.avg60)} ${formatPercent(line.avg300)} (10s 60s 300s)`,
        ]);
    }
    for (const [k, v] of lines) process.stdout.write(`${k.padEnd(10)} ${v}\n`);
  },
};
