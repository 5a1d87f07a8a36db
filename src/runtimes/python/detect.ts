import { basename } from 'node:path';
import { exePath, mappedFiles } from '../target-checks.js';

export interface PythonInfo {
  pid: number;
  /** The executable now running, as /proc/<pid>/exe shows it. */
  exe: string;
  /** `3.11`; undefined when the interpreter is CPython but names no version anywhere. */
  version?: string;
  major?: number;
  minor?: number;
  /** `exe`: the executable is a python interpreter; `libpython`: another program embeds libpython3.X.so. */
  via: 'exe' | 'libpython';
  /** The mapped libpython, when there is one. */
  libpython?: string;
}

const EXE_PATTERN = /^python(?:(\d+)(?:\.(\d+))?)?[dmu]*$/;
const LIBPYTHON_PATTERN = /\/libpython(\d+)\.(\d+)[dmu]*\.so(?:\.[\d.]+)?$/;

/**
 * Whether `pid` runs CPython now, and which version. Judged from the executable and the mapped
 * libraries, never from the name or command line, which a process sets itself; and read afresh
 * each time, since a Python that exec'd into something else keeps its pid and start time but is
 * no longer Python. Undefined when it is not Python, or when /proc will not say (gone, denied).
 */
export function pythonInfo(pid: number): PythonInfo | undefined {
  const exe = exePath(pid);
  if (exe === undefined) return undefined;
  const maps = mappedFiles(pid) ?? [];
  const libpython = maps.find((file) => LIBPYTHON_PATTERN.test(file));
  const lib = libpython === undefined ? undefined : LIBPYTHON_PATTERN.exec(libpython);
  const name = EXE_PATTERN.exec(basename(exe));
  const withLib = libpython === undefined ? {} : { libpython };
  if (name) {
    // The interpreter itself, whether or not it keeps the runtime in a shared libpython: its
    // version from its name, else from that library.
    const [, major, minor] = name[2] !== undefined ? name : (lib ?? []);
    return versioned({ pid, exe, via: 'exe', ...withLib }, major, minor);
  }
  // Any other program with libpython mapped embeds Python (uwsgi, a plugin host).
  if (lib) return versioned({ pid, exe, via: 'libpython', ...withLib }, lib[1], lib[2]);
  return undefined;
}

function versioned(info: PythonInfo, major: string | undefined, minor: string | undefined): PythonInfo {
  if (major === undefined || minor === undefined) return info;
  return { ...info, version: `${major}.${minor}`, major: Number(major), minor: Number(minor) };
}

/** True for 3.14 and later, where `sys.remote_exec` exists (PEP 768). */
export function hasRemoteExec(info: PythonInfo): boolean {
  return (
    info.major !== undefined &&
    info.minor !== undefined &&
    (info.major > 3 || (info.major === 3 && info.minor >= 14))
  );
}
