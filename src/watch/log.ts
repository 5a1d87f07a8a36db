import { closeSync, constants, fstatSync, openSync, renameSync, writeSync } from 'node:fs';
import { errnoCode, MemwardenError } from '../errors.js';
import { requireParentDirectory } from '../output-path.js';

/** Rotated files kept beside the live one: `memwarden.log.1` … `.KEEP`. */
const KEEP = 5;

/**
 * A JSON-lines log file, rotated by size. One object per line: JSON.stringify escapes every
 * control character, so a process that names itself `x\n2026-01-01 ERROR …` cannot forge a
 * line. Opened with O_NOFOLLOW so a symlink planted at the path is refused, not followed.
 */
export class JsonLinesFile {
  private fd: number;
  private sizeBytes: number;

  constructor(
    readonly path: string,
    private readonly maxSizeBytes: number,
  ) {
    this.fd = this.open();
    this.sizeBytes = fstatSync(this.fd).size;
  }

  write(record: object): void {
    this.writeLines(`${JSON.stringify(record)}\n`);
  }

  /** Whole lines, already JSON, in one write: a cycle's lines stay together in one file. */
  writeLines(lines: string): void {
    const bytes = Buffer.byteLength(lines);
    if (this.sizeBytes > 0 && this.sizeBytes + bytes > this.maxSizeBytes) this.rotate();
    writeSync(this.fd, lines);
    this.sizeBytes += bytes;
  }

  close(): void {
    closeSync(this.fd);
  }

  private open(): number {
    requireParentDirectory(this.path, 'log file');
    try {
      return openSync(
        this.path,
        constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
        0o640,
      );
    } catch (err) {
      const code = errnoCode(err);
      const why = code === 'ELOOP' ? 'it is a symbolic link' : code === 'EACCES' ? 'permission denied' : code;
      throw new MemwardenError('MW_CONFIG', `cannot open log file ${this.path}: ${why}`);
    }
  }

  private rotate(): void {
    closeSync(this.fd);
    for (let i = KEEP - 1; i >= 1; i--) {
      try {
        renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      } catch {
        // that generation does not exist yet
      }
    }
    renameSync(this.path, `${this.path}.1`);
    this.fd = this.open();
    this.sizeBytes = 0;
  }
}
