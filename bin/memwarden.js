#!/usr/bin/env node
// Loaded first and on its own: hangups are held before the rest of memwarden loads (see hangup.ts).
import { holdHangups } from '../dist/cli/hangup.js';

const argv = process.argv.slice(2);
if (argv[0] === 'watch') holdHangups();
const { main } = await import('../dist/cli/main.js');
main(argv);
