/**
 * proc: reading Linux. Plain records from /proc/<pid>/{stat,cmdline,smaps_rollup,cgroup,fd},
 * /proc/{meminfo,stat,loadavg,uptime}, /proc/net/tcp{,6} and the cgroup memory files, with no
 * policy. A process that vanishes mid-read is a normal result (undefined), never an exception; a permission error
 * leaves a field out and names it in `partial`.
 */
export {
  type CgroupPaths,
  type CgroupScope,
  cgroupPressureFile,
  parseCgroupFile,
  readCgroupMemory,
  readCgroupOomKills,
  readCgroupScope,
  readOwnCgroup,
  unifiedMount,
} from './cgroup.js';
export { parseCmdline, trimArgv } from './cmdline.js';
export { processName } from './comm.js';
export { bootTimeSeconds, CLOCK_TICKS_PER_SECOND, openFileSoftLimit, pageSizeBytes } from './constants.js';
export { type ProcessCredentials, readCredentials } from './credentials.js';
export { readAllBytes, readAllText } from './files.js';
export { identityKey } from './identity.js';
export { KernelLog, type KernelOomKill, parseKmsgRecord } from './kmsg.js';
export {
  isLoopback,
  isWildcard,
  listenersOf,
  ownerOfInode,
  parseTcpListeners,
  readTcpListeners,
  readTcpSockets,
  socketInodes,
  type TcpListener,
  type TcpSocket,
} from './net.js';
export { readOomScoreAdj } from './oom-score.js';
export { type Pressure, type PressureLine, parsePressure, readPressure } from './pressure.js';
export { DEFAULT_PRESSURE_TRIGGER, PressureTrigger, type PressureTriggerEvents } from './pressure-trigger.js';
export {
  ProcReader,
  type ReadErrorCounts,
  type ReaderOptions,
  type ReadOptions,
  type SweepOptions,
} from './reader.js';
export { parseSmapsRollup } from './smaps.js';
export { parseStat } from './stat.js';
export {
  type CpuTimes,
  cpuBusyPercent,
  cpuCount,
  readKernelStat,
  readLoadAverage,
  readMemInfo,
  readUptimeSeconds,
} from './system.js';
export { type ConnectionEnds, canonicalAddress, connectionPeerUid } from './tcp-peer.js';
export type { CgroupInfo, ProcessIdentity, ProcessRecord, SystemMemory } from './types.js';
export { accountOf, gidOf, uidOf, userName } from './users.js';
export { type HidePid, type ProcVisibility, procVisibility, threadsOnMachine } from './visibility.js';
