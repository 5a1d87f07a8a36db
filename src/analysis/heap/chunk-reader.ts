import type { FileHandle } from 'node:fs/promises';
import { MemwardenError } from '../../errors.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export function isJsonSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/**
 * A file read one fixed-size chunk at a time, with a cursor the parser moves byte by byte. Hot
 * loops read `buf[pos]` directly and call `fill` only at the end of a chunk, so the await cost is
 * paid per chunk, not per byte.
 */
export class ChunkReader {
  buf: Buffer;
  pos = 0;
  end = 0;
  /** File offset of `buf[0]`. */
  private bufStartBytes = 0;
  private nextReadBytes = 0;
  /** While `readRawValue` runs: the bytes consumed so far from earlier chunks. */
  private captured: Buffer[] | undefined;
  private capturedBytes = 0;
  private captureFrom = 0;
  private captureMaxBytes = 0;

  constructor(
    private readonly file: FileHandle,
    readonly path: string,
    chunkBytes: number,
    private readonly onChunk: (bytesRead: number) => void,
  ) {
    this.buf = Buffer.allocUnsafe(chunkBytes);
  }

  get offsetBytes(): number {
    return this.bufStartBytes + this.pos;
  }

  /** Reads the next chunk once the current one is used up; false at end of file. */
  async fill(): Promise<boolean> {
    if (this.pos < this.end) return true;
    if (this.captured) this.keepCaptured();
    const { bytesRead } = await this.file.read(this.buf, 0, this.buf.length, this.nextReadBytes);
    this.bufStartBytes = this.nextReadBytes;
    this.nextReadBytes += bytesRead;
    this.pos = 0;
    this.end = bytesRead;
    if (bytesRead > 0) this.onChunk(this.nextReadBytes);
    return bytesRead > 0;
  }

  /** Moves the cursor to a file offset; the next `fill` reads from there. */
  seek(offsetBytes: number): void {
    this.bufStartBytes = offsetBytes;
    this.nextReadBytes = offsetBytes;
    this.pos = 0;
    this.end = 0;
  }

  /**
   * Moves the cursor just past the next occurrence of `needle` at native search speed, or
   * returns false if the rest of the file has none.
   */
  async skipPast(needle: Buffer): Promise<boolean> {
    for (;;) {
      if (this.pos >= this.end && !(await this.fill())) return false;
      const at = this.buf.subarray(0, this.end).indexOf(needle, this.pos);
      if (at !== -1) {
        this.pos = at + needle.length;
        return true;
      }
      if (this.end < this.buf.length) return false;
      // Read on from the tail that could start a match across the chunk boundary.
      this.seek(this.bufStartBytes + Math.max(this.pos, this.end - needle.length + 1));
    }
  }

  private keepCaptured(): void {
    const piece = Buffer.from(this.buf.subarray(this.captureFrom, this.pos));
    this.captured?.push(piece);
    this.capturedBytes += piece.length;
    this.captureFrom = 0;
    if (this.capturedBytes > this.captureMaxBytes) {
      throw this.fail(`not a V8 heap snapshot: a header value longer than ${this.captureMaxBytes} bytes`);
    }
  }

  /** One whole JSON value as bytes, for the small header that is parsed with JSON.parse. */
  async readRawValue(inside: string, maxBytes: number): Promise<Buffer> {
    await this.peekNonSpace(inside);
    this.captured = [];
    this.capturedBytes = 0;
    this.captureFrom = this.pos;
    this.captureMaxBytes = maxBytes;
    try {
      await this.skipValue(inside);
      this.keepCaptured();
      return Buffer.concat(this.captured);
    } finally {
      this.captured = undefined;
    }
  }

  fail(what: string, offsetBytes = this.offsetBytes): MemwardenError {
    return new MemwardenError('MW_INPUT', `${this.path}: ${what} at byte ${offsetBytes}`);
  }

  /** For values checked a batch at a time: the fault lies somewhere before the cursor. */
  failBefore(what: string): MemwardenError {
    return new MemwardenError(
      'MW_INPUT',
      `${this.path}: ${what}, in the values before byte ${this.offsetBytes}`,
    );
  }

  truncated(inside: string): MemwardenError {
    return this.fail(`truncated heap snapshot: the file ends inside ${inside}`);
  }

  /** The next non-space byte, left unconsumed. */
  async peekNonSpace(inside: string): Promise<number> {
    for (;;) {
      if (this.pos >= this.end && !(await this.fill())) throw this.truncated(inside);
      const byte = this.buf[this.pos]!;
      if (!isJsonSpace(byte)) return byte;
      this.pos++;
    }
  }

  async expect(byte: number, inside: string): Promise<void> {
    const found = await this.peekNonSpace(inside);
    if (found !== byte) {
      throw this.fail(
        `not a V8 heap snapshot: expected '${String.fromCharCode(byte)}' but found ${describeByte(found)}`,
      );
    }
    this.pos++;
  }

  /**
   * The raw bytes of one JSON string, quotes included, with whether it holds an escape. The
   * cursor must be on the opening quote.
   */
  async readStringBytes(inside: string): Promise<{ bytes: Buffer; escaped: boolean }> {
    const pieces: Buffer[] = [];
    let start = this.pos;
    let escaped = false;
    let afterBackslash = false;
    this.pos++;
    for (;;) {
      if (this.pos >= this.end) {
        pieces.push(Buffer.from(this.buf.subarray(start, this.end)));
        if (!(await this.fill())) throw this.truncated(inside);
        start = 0;
      }
      const buf = this.buf;
      const end = this.end;
      let pos = this.pos;
      while (pos < end) {
        const byte = buf[pos]!;
        pos++;
        if (afterBackslash) {
          afterBackslash = false;
        } else if (byte === BACKSLASH) {
          afterBackslash = true;
          escaped = true;
        } else if (byte === QUOTE) {
          this.pos = pos;
          const tail = buf.subarray(start, pos);
          const bytes = pieces.length === 0 ? tail : Buffer.concat([...pieces, tail]);
          return { bytes, escaped };
        }
      }
      this.pos = pos;
    }
  }

  async readString(inside: string): Promise<string> {
    const startBytes = this.offsetBytes;
    const { bytes, escaped } = await this.readStringBytes(inside);
    if (!escaped) return bytes.toString('utf8', 1, bytes.length - 1);
    try {
      return JSON.parse(bytes.toString('utf8')) as string;
    } catch {
      throw this.fail(`invalid string in ${inside}`, startBytes);
    }
  }

  /**
   * Moves past one JSON value of any shape without keeping it: the sections a leak hunt does
   * not need (allocation traces, samples, locations) can be as large as the graph itself.
   */
  async skipValue(inside: string): Promise<void> {
    const first = await this.peekNonSpace(inside);
    if (first === QUOTE) {
      await this.readStringBytes(inside);
      return;
    }
    let depth = 0;
    let inString = false;
    let afterBackslash = false;
    for (;;) {
      if (this.pos >= this.end && !(await this.fill())) throw this.truncated(inside);
      const buf = this.buf;
      const end = this.end;
      let pos = this.pos;
      while (pos < end) {
        const byte = buf[pos]!;
        if (inString) {
          if (afterBackslash) afterBackslash = false;
          else if (byte === BACKSLASH) afterBackslash = true;
          else if (byte === QUOTE) inString = false;
        } else if (byte === QUOTE) {
          inString = true;
        } else if (byte === 0x5b || byte === 0x7b) {
          depth++;
        } else if (byte === 0x5d || byte === 0x7d) {
          if (depth === 0) {
            this.pos = pos;
            return;
          }
          depth--;
          if (depth === 0) {
            this.pos = pos + 1;
            return;
          }
        } else if (depth === 0 && (byte === 0x2c || isJsonSpace(byte))) {
          this.pos = pos;
          return;
        }
        pos++;
      }
      this.pos = pos;
    }
  }
}

export function describeByte(byte: number): string {
  return byte >= 0x20 && byte < 0x7f ? `'${String.fromCharCode(byte)}'` : `byte 0x${byte.toString(16)}`;
}
