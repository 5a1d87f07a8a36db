import { isMemwardenError } from '../errors.js';
import { COMMANDS } from './commands.js';
import { guardOutput } from './output.js';

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length), 8);
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `memwarden — a memory watchdog for Linux processes

Usage: memwarden <command> [options]

Commands:
${lines.join('\n')}

Run 'memwarden <command> --help' for a command's options.
Exit codes: 0 ok, 1 a failure while working, 2 a usage or config error.
`;
}

/** The CLI entry: the only place that decides exit codes. */
export async function main(argv: readonly string[]): Promise<void> {
  guardOutput((code) => process.exit(code));
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return;
  }
  if (name === '--version' || name === '-V') {
    const { createRequire } = await import('node:module');
    const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    const { didYouMean } = await import('../units/index.js');
    const hint = didYouMean(
      name,
      COMMANDS.map((c) => c.name),
    );
    process.stderr.write(`memwarden: unknown command '${name}'${hint} (see 'memwarden --help')\n`);
    process.exitCode = 2;
    return;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
    return;
  }
  try {
    await command.run(rest);
  } catch (err) {
    if (isMemwardenError(err)) {
      for (const line of err.message.split('\n')) process.stderr.write(`memwarden ${name}: ${line}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    // A bug, not an expected failure: keep the stack so it can be reported.
    process.stderr.write(
      `memwarden ${name}: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  }
}
