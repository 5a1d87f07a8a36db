import { stepText } from '../actions/index.js';
import { formatIssue, loadConfig } from '../config/index.js';
import { MemwardenError } from '../errors.js';
import { ProcReader } from '../proc/index.js';
import { redactedArgv } from '../redact.js';
import { commandLineOf, compileFilter, selectProcesses } from '../select/index.js';
import { printable } from '../ui/index.js';
import { formatCount } from '../units/index.js';
import { candidateText, Guard, loadTimeWarnings } from '../watch/index.js';
import { parseCommandArgs, printJson } from './args.js';
import type { Command } from './command.js';

const HELP = `Usage: memwarden check -c memwarden.yaml [--json] [--allow-insecure-config]

Validates the config file (every error with file:line:column) and prints what each target
matches right now, each rule's escalation chain step by step, and with a guard: section, the
guard and today's ranking of its victims. Exit code 0 when the file is valid, 2 when it is not.
`;

export const checkCommand: Command = {
  name: 'check',
  help: HELP,
  async run(args) {
    const { values } = parseCommandArgs(args, {
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean' },
      'allow-insecure-config': { type: 'boolean' },
    });
    if (values.config === undefined)
      throw new MemwardenError('MW_USAGE', 'give the config file with -c FILE');
    const config = await loadConfig(values.config, {
      allowInsecure: values['allow-insecure-config'] ?? false,
    });
    const reader = new ProcReader();
    const records = reader.sweep();
    // Today's ranking: who the guard would pick if its condition held now.
    const guard = config.guard ? new Guard(config.guard, { reader }) : undefined;
    const ranking = guard?.rank(records);
    reader.close();
    const guardReport =
      guard && ranking
        ? {
            description: guard.description,
            ranking: ranking.ranking.slice(0, 10),
            excluded: ranking.excluded,
          }
        : undefined;
    const selections = config.targets.map((t) => selectProcesses(records, compileFilter(t.match)));
    const targets = config.targets.map((t, i) => {
      const selection = selections[i] ?? { records: [], unmatched: [] };
      return {
        name: t.name,
        rules: t.rules.length,
        escalations: t.rules
          .filter((rule) => rule.escalate !== undefined)
          .map((rule) => ({
            rule: rule.id,
            when: rule.when.source,
            steps: (rule.escalate ?? []).map(stepText),
          })),
        processes: selection.records.map((r) => ({
          pid: r.pid,
          cmdline: redactedArgv(r.cmdline),
          name: r.name,
        })),
        unmatched: selection.unmatched,
      };
    });
    const warnings = [
      ...config.warnings.map(formatIssue),
      ...loadTimeWarnings(config).map((w) => `warning: ${w}`),
    ];
    if (values.json) {
      printJson({ valid: true, warnings, targets, ...(guardReport ? { guard: guardReport } : {}) });
      return;
    }
    for (const w of warnings) process.stderr.write(`memwarden check: ${w}\n`);
    process.stdout.write(
      `${config.file}: valid, ${formatCount(config.targets.length, 'target')}, ${formatCount(config.rules.length, 'rule')}\n`,
    );
    for (const [i, t] of targets.entries()) {
      process.stdout.write(
        `${printable(t.name)}: ${formatCount(t.processes.length, 'process', 'processes')}, ${formatCount(t.rules, 'rule')}\n`,
      );
      for (const record of selections[i]?.records ?? []) {
        process.stdout.write(
          `  ${record.pid}  ${printable(commandLineOf({ ...record, cmdline: redactedArgv(record.cmdline) }))}\n`,
        );
      }
      for (const chain of t.escalations) {
        process.stdout.write(
          `  ${printable(chain.rule)} when '${printable(chain.when)}' escalates: ${printable(chain.steps.join(' → '))}\n`,
        );
      }
    }
    if (guardReport) {
      process.stdout.write(`${guardReport.description}\n`);
      process.stdout.write(
        guardReport.ranking.length === 0
          ? '  no process in its scope may be acted on\n'
          : '  victims in order, if it acted now:\n',
      );
      for (const [i, c] of guardReport.ranking.entries())
        process.stdout.write(
          `  ${i + 1}. ${printable(candidateText(c))}  ${printable(redactedArgv([...c.cmdline]).join(' '))}\n`,
        );
      for (const e of guardReport.excluded)
        process.stdout.write(`  never: pid ${e.pid} (${printable(e.name)}): ${e.why}\n`);
    }
  },
};
