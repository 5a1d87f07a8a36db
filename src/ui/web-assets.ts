import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** `web/` sits two levels above this file both in `src/ui/` and in `dist/ui/`. */
const WEB_DIR = new URL('../../web/', import.meta.url);

export function webAsset(name: string): string {
  return fileURLToPath(new URL(name, WEB_DIR));
}

export interface Asset {
  type: string;
  body: Buffer;
}

const UPLOT_FILES = {
  'uPlot.min.js': 'uplot/dist/uPlot.iife.min.js',
  'uPlot.min.css': 'uplot/dist/uPlot.min.css',
};
const OWN_FILES = ['dashboard.js', 'dashboard.css', 'charts.js', 'report.js', 'report.css'];

let cache: Map<string, Asset> | undefined;

function typeOf(name: string): string {
  return name.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8';
}

/** Every file the pages load, read once: uPlot from node_modules (no CDN) and our own from `web/`. */
export function webAssets(): Map<string, Asset> {
  if (cache) return cache;
  const require = createRequire(import.meta.url);
  const assets = new Map<string, Asset>();
  for (const [name, spec] of Object.entries(UPLOT_FILES))
    assets.set(name, { type: typeOf(name), body: readFileSync(require.resolve(spec)) });
  for (const name of OWN_FILES) assets.set(name, { type: typeOf(name), body: readFileSync(webAsset(name)) });
  cache = assets;
  return assets;
}
