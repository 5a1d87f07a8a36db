import { MemwardenError } from '../errors.js';
import { ProcReader } from '../proc/index.js';
import { describeProbes } from '../runtimes/index.js';
import { printable } from '../ui/index.js';
import { parseCommandArgs, printJson } from './args.js';
import type { Command } from './command.js';
import { parsePid } from './targets.js';

const HELP = `Usage: memwarden inspect <PID> [--json]

What memwarden knows about a process's runtime: Node.js, Python or native (told by its
executable, never by its name), the version where it is cheap to know, the executable, and for
each probe (gc, snapshot, trim) whether it can run here and why not, and what giving memory back
does in this process step by step: the runtime's collection, then the allocator's trim (which
allocator: glibc, jemalloc or tcmalloc, from the mapped libraries), and what does not work here.
Nothing is sent to the process: this only reads /proc.
`;

export const inspectCommand: Command = {
  name: 'inspect',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' } });
    if (positionals.length !== 1 || positionals[0] === undefined) {
      throw new MemwardenError('MW_USAGE', 'exactly one PID is required');
    }
    const pid = parsePid(positionals[0], 'inspect');
    const reader = new ProcReader();
    try {
      const { info, probes, release } = describeProbes(pid, reader);
      const user = reader.read(pid)?.user;
      if (values.json) {
        printJson({
          pid: info.pid,
          name: info.name,
          exe: info.exe,
          runtime: info.runtime,
          version: info.version,
          detectedBy: info.detectedBy,
          state: info.state,
          uid: info.uid,
          user,
          protected: info.protectedReason,
          probes,
          release,
        });
        return;
      }
      const rows: [string, string][] = [
        ['pid', `${info.pid} (${printable(info.name)})`],
        [
          'runtime',
          `${info.runtime}${info.version ? ` ${info.version}` : ''}${info.detectedBy ? ` (${info.detectedBy})` : ''}`,
        ],
        ['exe', info.exe === undefined ? '-' : printable(info.exe)],
        ['user', user ?? String(info.uid)],
        ['state', info.state],
      ];
      if (info.protectedReason) rows.push(['protected', info.protectedReason]);
      for (const p of probes) {
        const via = p.via ? `, ${printable(p.via)}` : '';
        rows.push([p.probe, p.possible ? `yes${via} (${p.reason})` : `no: ${p.reason}`]);
      }
      release.forEach((line, i) => {
        rows.push([i === 0 ? 'release' : '', printable(line)]);
      });
      for (const [k, v] of rows) process.stdout.write(`${k.padEnd(10)} ${v}\n`);
    } finally {
      reader.close();
    }
  },
};
