/**
 * The history reader's thread: its own read-only connection to the history file, answering one
 * query at a time, so that a query over millions of rows holds this thread and not the one that
 * samples. Killed from outside when a query runs past its time (SQLite cannot be interrupted
 * from JavaScript otherwise).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errnoCode } from '../errors.js';
import { openHistory } from './history-file.js';
import type { HistoryCall, HistoryReply } from './history-reader.js';

const store = openHistory((workerData as { path: string }).path);

function answer(call: HistoryCall): unknown {
  switch (call.method) {
    case 'history':
      return store.history(call.query);
    case 'system':
      return store.system(call.query);
    case 'events':
      return store.events(call.query);
    case 'targets':
      return store.targets();
  }
}

parentPort?.on('message', (call: HistoryCall) => {
  let reply: HistoryReply;
  try {
    reply = { id: call.id, result: answer(call) };
  } catch (err) {
    reply = {
      id: call.id,
      error: {
        message: err instanceof Error ? err.message : String(err),
        code: errnoCode(err) ?? 'EUNKNOWN',
      },
    };
  }
  parentPort?.postMessage(reply);
});
