import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';
import { tempDir } from './temp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A Node addon that declares another NODE_MODULE_VERSION: Node refuses it while loading, exactly
 * as it refuses a better-sqlite3 that was compiled for another Node. Its only code registers it.
 */
const FOREIGN_ADDON = `
struct node_module { int nm_version; unsigned int nm_flags; void *nm_dso_handle;
  const char *nm_filename; void *nm_register_func; void *nm_context_register_func;
  const char *nm_modname; void *nm_priv; struct node_module *nm_link; };
void node_module_register(void *);
static struct node_module module = { ABI, 0, 0, __FILE__, 0, 0, "better_sqlite3", 0, 0 };
__attribute__((constructor)) static void load(void) { node_module_register(&module); }
`;

/**
 * An installed copy of memwarden (its bin and dist, the checkout's dependencies linked) whose
 * better-sqlite3 has `addon` (or nothing) as its native module: the checkout itself is never touched.
 */
function installWith(addon: ((path: string) => void) | undefined): string {
  const dir = tempDir();
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  mkdirSync(join(dir, 'node_modules'));
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name === 'better-sqlite3' || name.startsWith('.')) continue;
    symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
  }
  const sqlite = join(dir, 'node_modules', 'better-sqlite3');
  for (const part of ['package.json', 'lib']) {
    cpSync(join(ROOT, 'node_modules', 'better-sqlite3', part), join(sqlite, part), { recursive: true });
  }
  mkdirSync(join(sqlite, 'build', 'Release'), { recursive: true });
  addon?.(join(sqlite, 'build', 'Release', 'better_sqlite3.node'));
  return dir;
}

/** Builds the foreign addon for `abi` at `path` with the system's C compiler. */
function compileForeign(abi: number, path: string): void {
  const source = `${path}.c`;
  writeFileSync(source, FOREIGN_ADDON);
  const cc = spawnSync('cc', ['-shared', '-fPIC', `-DABI=${abi}`, '-o', path, source], { encoding: 'utf8' });
  assert.equal(cc.status, 0, cc.stderr);
}

async function openHistory(install: string): Promise<{ code: number | null; lines: string[] }> {
  const { code, stderr } = await runCli(
    ['watch', '--count', '1', '--match', 'no-such-process-anywhere', '--store', join(install, 'history.db')],
    { bin: join(install, 'bin', 'memwarden.js') },
  );
  return { code, lines: stderr.trim().split('\n') };
}

/** What the one line must say the fix is: a rebuild in the install, for the Node running now. */
function assertRebuildCommand(line: string, install: string): void {
  const command = / (cd \S+ && npm rebuild better-sqlite3(?: --nodedir=(\S+))?)$/.exec(line);
  assert.ok(command, `no rebuild command at the end of: ${line}`);
  assert.ok(command[1]?.startsWith(`cd ${install} &&`), line);
  const nodedir = command[2];
  if (nodedir !== undefined) assert.ok(existsSync(join(nodedir, 'include', 'node', 'node.h')), line);
}

describe('a native SQLite module that does not fit the running Node', () => {
  const running = Number(process.versions.modules);
  // Node 20's number unless that is the one running, then Node 22's.
  const foreign = running === 115 ? 127 : 115;

  it('is one line naming the Node it was built for, the Node that runs, and the command that fixes it', async () => {
    const install = installWith((path) => compileForeign(foreign, path));
    const { code, lines } = await openHistory(install);
    assert.equal(code, 1);
    assert.equal(lines.length, 1, lines.join('\n'));
    const [line = ''] = lines;
    const built = foreign === 115 ? 'Node 20 (NODE_MODULE_VERSION 115)' : 'Node 22 (NODE_MODULE_VERSION 127)';
    assert.ok(line.includes(`was built for ${built}`), line);
    assert.ok(line.includes(`runs on Node ${process.versions.node} (NODE_MODULE_VERSION ${running})`), line);
    assert.doesNotMatch(line, /This version of Node\.js requires|Please try re-compiling/);
    assertRebuildCommand(line, install);
  });

  it('is one line with the same command when the module was never built', async () => {
    const install = installWith(undefined);
    const { code, lines } = await openHistory(install);
    assert.equal(code, 1);
    assert.equal(lines.length, 1, lines.join('\n'));
    const [line = ''] = lines;
    assert.match(line, /has not been built/);
    assertRebuildCommand(line, install);
  });
});
