import { isMemwardenError } from '../errors.js';

const HELP = `memwarden — a memory watchdog for Linux processes

Usage: memwarden <command> [options]

Run 'memwarden <command> --help' for a command's options.
`;

export async function main(argv: readonly string[]): Promise<void> {
  try {
    const [command] = argv;
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(HELP);
      return;
    }
    process.stderr.write(`memwarden: unknown command '${command}'\n`);
    process.exitCode = 2;
  } catch (err) {
    if (isMemwardenError(err)) {
      process.stderr.write(`memwarden: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}
