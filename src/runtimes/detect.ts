import { readlinkSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { errnoCode, MemwardenError } from '../errors.js';
import { type ProcessIdentity, type ProcessRecord, ProcReader, readAllText } from '../proc/index.js';
import { executableFacts } from './elf.js';

export type RuntimeKind = 'node' | 'python' | 'native' | 'unknown';

export interface RuntimeInfo {
  pid: number;
  startTicks: number;
  name: string;
  state: string;
  uid: number;
  runtime: RuntimeKind;
  /** `20.20.2`, `3.11`; absent where it would cost more than a look at names. */
  version?: string;
  /** The executable's path as the kernel shows it; absent when not readable (kernel thread, denied). */
  exe?: string;
  /** What the runtime was told by: never the process name or argv, which the process sets itself. */
  detectedBy?: string;
  /** Why no probe may ever touch this process; absent when probes may be tried. */
  protectedReason?: string;
  /** The executable file, to notice an `execve` between detection and action. */
  exeFile?: { dev: number; ino: number };
  /** Why the executable could not be read, when it could not: the runtime is then unknown. */
  exeUnreadable?: string;
}

export interface DetectOptions {
  reader?: ProcReader;
  root?: string;
}

const PYTHON_EXE = /^python(\d+(?:\.\d+)?)?$/;
const LIBPYTHON = /\/libpython(\d+\.\d+)[^/\n]*\.so/;
const LIBNODE = /\/libnode\.so/;
const MAPS_CAP_BYTES = 2 * 1024 * 1024;

function readMaps(root: string, pid: number): string {
  const text = readAllText(`${root}/${pid}/maps`, MAPS_CAP_BYTES);
  return typeof text === 'string' ? text : '';
}

function fileId(path: string): { dev: number; ino: number } | undefined {
  try {
    const st = statSync(path);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

let ownExe: { dev: number; ino: number } | undefined | null = null;

/** The Node binary running memwarden: a target running the same file has our version. */
function ownExecutable(): { dev: number; ino: number } | undefined {
  if (ownExe === null) ownExe = fileId('/proc/self/exe');
  return ownExe;
}

/** One read with a reader of its own, closed at once so that no fd stays open. */
function readOnce(pid: number, root: string): ProcessRecord | undefined {
  const reader = new ProcReader({ root });
  try {
    return reader.read(pid);
  } finally {
    reader.close();
  }
}

/** Why a process may never be probed (RELIABILITY.md scenario 16), or undefined. */
export function protectedReason(record: {
  pid: number;
  state: string;
  kernelThread: boolean;
}): string | undefined {
  if (record.pid === 1) return 'pid 1 (init)';
  if (record.pid === process.pid) return 'memwarden itself';
  if (record.pid === process.ppid) return "memwarden's parent";
  if (record.kernelThread) return 'kernel thread';
  if (record.state === 'Z' || record.state === 'X') return 'zombie';
  if (record.state === 'T' || record.state === 't') return 'stopped';
  return undefined;
}

/** What is said of a process whose executable could not be read, before any why. */
export const EXE_UNREADABLE = 'its executable cannot be read';

/**
 * Why /proc/PID/exe could not be read, in words that say what to do. The kernel hides it from
 * whoever may not ptrace the process: another user's, or one of our own that is not dumpable
 * (prctl(PR_SET_DUMPABLE, 0), or a set-uid or set-gid program), whose /proc files are root's.
 */
function exeRefusal(code: string | undefined, uid: number): string {
  if (code !== 'EACCES' && code !== 'EPERM') return `${EXE_UNREADABLE} (${code ?? 'unknown error'})`;
  const euid = process.geteuid?.() ?? -1;
  if (uid === euid) {
    return `${EXE_UNREADABLE} (${code}): the process is not dumpable (prctl PR_SET_DUMPABLE 0, or a set-uid or set-gid program), so only CAP_SYS_PTRACE may look inside it`;
  }
  return `${EXE_UNREADABLE} (${code}): the process belongs to uid ${uid} and memwarden runs as uid ${euid} without CAP_SYS_PTRACE`;
}

/**
 * What runtime a process runs, from its executable: Node if the file exports Node's addon
 * symbols or the process maps libnode (a file merely named node is native); Python if it is
 * named pythonX.Y or maps libpython; native otherwise. Undefined when the process is gone.
 */
export function detectRuntime(pid: number, options: DetectOptions = {}): RuntimeInfo | undefined {
  const root = options.root ?? options.reader?.root ?? '/proc';
  const record = options.reader ? options.reader.read(pid) : readOnce(pid, root);
  if (!record) return undefined;
  const info: RuntimeInfo = {
    pid,
    startTicks: record.startTicks,
    name: record.name,
    state: record.state,
    uid: record.uid,
    runtime: 'unknown',
  };
  const reason = protectedReason(record);
  if (reason) info.protectedReason = reason;
  if (record.kernelThread || record.state === 'Z') return info;

  const exeLink = `${root}/${pid}/exe`;
  try {
    info.exe = readlinkSync(exeLink);
  } catch (err) {
    info.exeUnreadable = exeRefusal(errnoCode(err), record.uid);
    return info;
  }
  const exeFile = fileId(exeLink);
  if (exeFile) info.exeFile = exeFile;
  const exeName = basename(info.exe.replace(/ \(deleted\)$/, ''));

  // Never the file name: anyone can copy /bin/sleep to a file called node, and SIGUSR1 kills it.
  if (executableFacts(exeLink)?.exportsNodeSymbols) {
    info.runtime = 'node';
    info.detectedBy = "executable exports Node's symbols";
  }
  const pythonName = PYTHON_EXE.exec(exeName);
  if (info.runtime === 'unknown' && pythonName) {
    info.runtime = 'python';
    info.detectedBy = 'executable name';
    if (pythonName[1]?.includes('.')) info.version = pythonName[1];
  }
  if (info.runtime === 'unknown' || (info.runtime === 'python' && !info.version)) {
    const maps = readMaps(root, pid);
    const libpython = LIBPYTHON.exec(maps);
    if (info.runtime === 'unknown' && LIBNODE.test(maps)) {
      info.runtime = 'node';
      info.detectedBy = 'libnode mapped';
    } else if (libpython) {
      if (info.runtime === 'unknown') info.detectedBy = 'libpython mapped';
      info.runtime = 'python';
      info.version = libpython[1];
    }
  }
  if (info.runtime === 'unknown') {
    info.runtime = 'native';
    info.detectedBy = 'neither Node nor Python';
  }
  const own = ownExecutable();
  if (info.runtime === 'node' && own && exeFile && own.dev === exeFile.dev && own.ino === exeFile.ino) {
    info.version = process.versions.node;
  }
  return info;
}

/**
 * The check right before a signal or an attach: the pid must still be the process that was
 * detected (same start time) and still run the same executable (no `execve` since). Throws
 * MW_PID_REUSED for another process under the pid, MW_NO_PROCESS for one gone or exec'd.
 */
export function assertSameProcess(
  expected: ProcessIdentity & Pick<RuntimeInfo, 'exeFile'>,
  reader: ProcReader,
): void {
  const now = reader.identity(expected.pid);
  if (!now) throw new MemwardenError('MW_NO_PROCESS', `pid ${expected.pid} has exited`);
  if (now.startTicks !== expected.startTicks) {
    throw new MemwardenError(
      'MW_PID_REUSED',
      `pid ${expected.pid} was reused by another process (PID reused); nothing was sent to it`,
    );
  }
  if (expected.exeFile) {
    const exe = fileId(`${reader.root}/${expected.pid}/exe`);
    if (!exe) {
      throw new MemwardenError(
        'MW_NO_PROCESS',
        `pid ${expected.pid} is exiting (its executable is gone from /proc); nothing was sent to it`,
      );
    }
    if (exe.dev !== expected.exeFile.dev || exe.ino !== expected.exeFile.ino) {
      throw new MemwardenError(
        'MW_NO_PROCESS',
        `pid ${expected.pid} now runs another executable (execve); nothing was sent to it`,
      );
    }
  }
}
