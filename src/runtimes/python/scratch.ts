import { createHash } from 'node:crypto';
import {
  chownSync,
  closeSync,
  constants,
  fstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemwardenError } from '../../errors.js';

/** Largest answer read back from a target: a snapshot of a thousand sites fits many times over. */
const RESULT_CAP_BYTES = 16 * 1024 * 1024;

/**
 * A private directory for one injection: the script the target runs and the answer it writes.
 * mkdtemp makes it 0700; when we are root acting on another user's process, the directory is
 * given to that user, since the target must write its answer there and nobody else may.
 */
export class Scratch {
  readonly dir: string;
  private readonly owner: { uid: number; gid: number } | undefined;

  constructor(pid: number) {
    this.dir = mkdtempSync(join(tmpdir(), 'memwarden-py-'));
    let owner: { uid: number; gid: number } | undefined;
    try {
      const { uid, gid } = statSync(`/proc/${pid}`);
      if (uid !== process.geteuid?.()) owner = { uid, gid };
    } catch {
      // gone: the operation fails later, on its own terms
    }
    this.owner = owner;
    if (owner) this.give(this.dir);
  }

  private give(path: string): void {
    if (!this.owner) return;
    try {
      chownSync(path, this.owner.uid, this.owner.gid);
    } catch (err) {
      this.remove();
      throw new MemwardenError(
        'MW_PERMISSION',
        `cannot hand ${path} to uid ${this.owner.uid}, which the target runs as: ${(err as Error).message}`,
      );
    }
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Writes a new file (never through a link, never over an existing one); returns its SHA-256. */
  writeNew(name: string, content: string): string {
    const fd = openSync(
      this.path(name),
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    this.give(this.path(name));
    return sha256(content);
  }

  /** Throws unless the file still holds what we wrote: the check right before a target reads it. */
  verify(name: string, digest: string): void {
    if (sha256(readFileSync(this.path(name), 'utf8')) !== digest) {
      throw new MemwardenError('MW_FAILED', `${this.path(name)} changed after it was written; not used`);
    }
  }

  /** The JSON the target wrote under `name`, or undefined while it is not there yet. */
  readAnswer(name: string): unknown {
    let fd: number;
    try {
      fd = openSync(this.path(name), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch {
      return undefined;
    }
    try {
      if (fstatSync(fd).size > RESULT_CAP_BYTES) {
        throw new MemwardenError('MW_INPUT', `the answer from the target exceeds ${RESULT_CAP_BYTES} bytes`);
      }
      try {
        return JSON.parse(readFileSync(fd, 'utf8')) as unknown;
      } catch {
        throw new MemwardenError('MW_INPUT', 'the answer from the target is not valid JSON');
      }
    } finally {
      closeSync(fd);
    }
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
