// A leaking Node process on command, for the heap tests: one line per command on stdin,
// `grow <n>` adds n SessionRecord objects to a module-level Map, `snap <path>` writes a heap
// snapshot there; every command is answered with one line on stdout.
import { createInterface } from 'node:readline';
import { writeHeapSnapshot } from 'node:v8';

class SessionRecord {
  constructor(id) {
    this.id = id;
    this.user = `user-${id}`;
    this.createdAt = Date.now();
    this.scratch = new Array(16).fill(id);
  }
}

const sessions = new Map();
let nextId = 0;

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [command, argument = ''] = line.trim().split(/\s+/, 2);
  if (command === 'grow') {
    for (let i = 0; i < Number(argument); i++) {
      sessions.set(nextId, new SessionRecord(nextId));
      nextId++;
    }
    process.stdout.write(`grown ${sessions.size}\n`);
  } else if (command === 'snap') {
    writeHeapSnapshot(argument);
    process.stdout.write(`snapped ${argument}\n`);
  } else {
    process.stdout.write(`unknown ${command}\n`);
  }
});
process.stdout.write('ready\n');
