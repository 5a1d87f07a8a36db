/** Runs the built `memwarden` bin as a user would, capturing its output and exit code. */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/memwarden.js', import.meta.url));

/**
 * The environment the CLI runs in: a private XDG_STATE_HOME, so that a default history file
 * goes to a temporary directory, never to the home of whoever runs the tests.
 */
const stateHome = mkdtempSync(join(tmpdir(), 'memwarden-state-'));
after(() => rmSync(stateHome, { recursive: true, force: true, maxRetries: 5 }));
export const CLI_ENV: NodeJS.ProcessEnv = { ...process.env, XDG_STATE_HOME: stateHome };

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `bin`: another install's `bin/memwarden.js` instead of the checkout's. */
export function runCli(
  args: readonly string[],
  options: {
    timeoutMs?: number;
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    stdoutFd?: number;
    bin?: string;
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.bin ?? BIN, ...args], {
      stdio: ['ignore', options.stdoutFd ?? 'pipe', 'pipe'],
      env: options.env ?? CLI_ENV,
      cwd: options.cwd,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`memwarden ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The JSON-lines records a `memwarden watch --json` printed, optionally only those of one kind. */
export function jsonRecords<T = Record<string, unknown>>(stdout: string, kind?: string): T[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => kind === undefined || r.kind === kind) as T[];
}

/**
 * Runs the CLI with a stdout whose reader has already gone, as after `| head` has read its
 * fill: a FIFO opened for reading, then for writing, then closed on the reading side. The
 * first write fails with EPIPE, every time, however fast or slow the command is.
 */
export async function runCliIntoClosedPipe(
  args: readonly string[],
  options: { timeoutMs?: number } = {},
): Promise<CliResult> {
  const dir = mkdtempSync(join(tmpdir(), 'memwarden-pipe-'));
  try {
    const fifo = join(dir, 'stdout');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, constants.O_WRONLY);
    closeSync(reader);
    try {
      return await runCli(args, { ...options, stdoutFd: writer });
    } finally {
      closeSync(writer);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
