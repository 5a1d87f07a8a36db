import type { Tick } from '../export/index.js';
import type { ActionHandler } from './actions.js';
import { TopModel } from './top-model.js';

export interface TopOptions {
  /** Makes one tick per refresh. */
  sample: () => Tick;
  intervalMs: number;
  actions: ActionHandler;
  /** How far back the sparkline and growth look. */
  windowMs: number;
  /** Whether the samples carry PSS: its column is shown only then. */
  pss: boolean;
  /** Whether rows start grouped under a total row per target. */
  group: boolean;
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
  /** Stop after this many refreshes. */
  count?: number;
}

const ENTER_SCREEN = '\x1b[?1049h\x1b[?25l';
const LEAVE_SCREEN = '\x1b[?25h\x1b[?1049l';
/** Arrow keys arrive as one escape sequence; everything else is one character. */
const KEYS = /\x1b\[[0-9;]*[A-Za-z]|[\s\S]/gu;

/**
 * The full-screen view: the alternate screen and raw-mode keys, redrawn every tick. However it
 * ends (q, Ctrl-C, SIGTERM, an exception) the terminal is given back as it was.
 */
export function runTopInteractive(options: TopOptions): Promise<void> {
  const { input, output } = options;
  const model = new TopModel(options.windowMs, options.pss, options.group);
  let refreshes = 0;
  let restored = false;

  const draw = () => {
    const { lines, selectedLine } = model.render(output.columns || 80, output.rows || 24);
    // No line feed after the last line: on the bottom row it would scroll the header away.
    const frame = lines
      .map((line, i) => (i === selectedLine ? `\x1b[7m${line}\x1b[0m\x1b[K` : `${line}\x1b[K`))
      .join('\r\n');
    output.write(`\x1b[H${frame}\x1b[J`);
  };

  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const restore = () => {
      if (restored) return;
      restored = true;
      clearTimeout(timer);
      input.off('data', onData);
      output.off('resize', draw);
      process.off('SIGTERM', onSignal);
      process.off('exit', restore);
      if (input.isTTY) input.setRawMode(false);
      input.pause();
      output.write(LEAVE_SCREEN);
    };
    const finish = (err?: unknown) => {
      restore();
      if (err) reject(err);
      else resolve();
    };
    const onSignal = () => finish();
    const refresh = () => {
      try {
        model.update(options.sample());
        draw();
      } catch (err) {
        finish(err);
        return;
      }
      refreshes++;
      if (options.count !== undefined && refreshes >= options.count) finish();
      else timer = setTimeout(refresh, options.intervalMs);
    };
    const onData = (chunk: string) => {
      for (const [key] of chunk.matchAll(KEYS)) {
        const effect = model.key(key);
        if (effect.kind === 'quit') {
          finish();
          return;
        }
        if (effect.kind === 'action') {
          options
            .actions({ pid: effect.pid, startTicks: effect.startTicks, action: effect.action })
            .then(
              (result) => {
                model.message = `${effect.action} on pid ${effect.pid}: ${result.message}`;
              },
              (err: unknown) => {
                model.message = `${effect.action} on pid ${effect.pid} failed: ${err instanceof Error ? err.message : String(err)}`;
              },
            )
            .finally(() => {
              if (!restored) draw();
            });
        }
      }
      draw();
    };

    output.write(ENTER_SCREEN);
    process.once('exit', restore);
    process.once('SIGTERM', onSignal);
    if (input.isTTY) input.setRawMode(true);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.resume();
    output.on('resize', draw);
    refresh();
  });
}

/** Without a terminal: the same rows as plain text, one block per refresh, or one JSON line each. */
export async function runTopPlain(
  options: Omit<TopOptions, 'input' | 'actions'> & { json?: boolean },
): Promise<void> {
  const model = new TopModel(options.windowMs, options.pss, options.group);
  for (let i = 0; options.count === undefined || i < options.count; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, options.intervalMs));
    model.update(options.sample());
    if (options.json) {
      options.output.write(`${JSON.stringify(model.json())}\n`);
      continue;
    }
    const { lines } = model.render(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, false);
    options.output.write(`${i > 0 ? '\n' : ''}${lines.join('\n')}\n`);
  }
}
