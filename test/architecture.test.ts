import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

/**
 * The shape of src/ as docs/architecture.md draws it: parts listed bottom-up, each importing
 * only parts below it, and only through their face (`index.ts`). The shared leaves (errors,
 * redaction, output paths, units) may be imported by every part.
 */
const LEAVES = ['errors.ts', 'output-path.ts', 'redact.ts', 'units'];
const PARTS = [
  'proc',
  'select',
  'sample',
  'analysis',
  'rules',
  'runtimes',
  'actions',
  'store',
  'export',
  'ui',
  'config',
  'watch',
  'cli',
];
/** Parts made of sub-parts, each with its own face. */
const NESTED = new Set(['analysis']);

const SRC = resolve('src');

function sourceFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts')) found.push(path);
  }
  return found;
}

/** Relative specifiers of every static, re-exporting and dynamic import, type-only ones included. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  for (const m of text.matchAll(/\b(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
    if (m[1] !== undefined) specifiers.push(m[1]);
  }
  return specifiers;
}

interface Place {
  /** The part's name, a leaf's name, or '' for src/index.ts. */
  part: string;
  /** The face a file of another part must import to reach this file. */
  face: string;
}

function placeOf(file: string): Place {
  const parts = relative(SRC, file).split('/');
  const top = parts[0] ?? '';
  if (parts.length === 1) return { part: top === 'index.ts' ? '' : top, face: file };
  if (NESTED.has(top) && parts.length > 2) {
    return { part: top, face: join(SRC, top, parts[1] ?? '', 'index.ts') };
  }
  return { part: top, face: join(SRC, top, 'index.ts') };
}

const rank = (part: string): number => (LEAVES.includes(part) ? -1 : PARTS.indexOf(part));

describe('the shape of src/', () => {
  const files = sourceFiles(SRC);
  const edges = files.flatMap((from) =>
    importsOf(from).map((spec) => ({ from, to: resolve(dirname(from), spec.replace(/\.js$/, '.ts')) })),
  );

  it('knows every part', () => {
    const unknown = [...new Set(files.map((f) => placeOf(f).part))].filter(
      (p) => p !== '' && rank(p) === -1 && !LEAVES.includes(p),
    );
    assert.deepEqual(unknown, [], 'a new part needs its place in PARTS and in docs/architecture.md');
  });

  it('imports another part only through its index.ts', () => {
    const inner = edges
      .filter(({ from, to }) => {
        const a = placeOf(from);
        const b = placeOf(to);
        return a.part !== b.part && !LEAVES.includes(b.part) && to !== b.face;
      })
      .map(({ from, to }) => `${relative(SRC, from)} → ${relative(SRC, to)}`);
    assert.deepEqual(inner, []);
  });

  it('has no import cycle between files', () => {
    const next = new Map<string, string[]>();
    for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to]);
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const path: string[] = [];
    const visit = (file: string): void => {
      state.set(file, 'open');
      path.push(file);
      for (const to of next.get(file) ?? []) {
        if (state.get(to) === 'open') {
          cycles.push([...path.slice(path.indexOf(to)), to].map((f) => relative(SRC, f)).join(' → '));
        } else if (state.get(to) === undefined) visit(to);
      }
      path.pop();
      state.set(file, 'done');
    };
    for (const file of files) if (state.get(file) === undefined) visit(file);
    assert.deepEqual(cycles, []);
  });

  it('imports only parts below it on the map', () => {
    const upward = edges
      .filter(({ from, to }) => {
        const a = placeOf(from).part;
        const b = placeOf(to).part;
        return a !== '' && a !== b && !LEAVES.includes(b) && rank(b) >= rank(a);
      })
      .map(({ from, to }) => `${relative(SRC, from)} → ${relative(SRC, to)}`);
    assert.deepEqual(upward, []);
  });
});
