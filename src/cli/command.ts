/** The shape of one CLI command: parse with `parseCommandArgs`, call the library, print. */
export interface Command {
  name: string;
  /** The whole `memwarden <name> --help` text. */
  help: string;
  /** Sets process.exitCode for non-zero results; throws MemwardenError for expected failures. */
  run(args: string[]): Promise<void>;
}
