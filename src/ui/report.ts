import { createHash } from 'node:crypto';
import type { TargetTrend } from '../export/index.js';
import type { HistoryEvent, HistorySource, MemberLine, SystemChartPoint, TargetPoint } from './history.js';
import { memberLines, totalsByTime } from './history.js';
import { webAssets } from './web-assets.js';

export interface ReportOptions {
  sinceMs: number;
  /** Default now. */
  untilMs?: number;
  /** Points per chart. Default 1000. */
  maxPoints?: number;
  /** Events listed, newest first. Default 1000. */
  maxEvents?: number;
  title?: string;
}

export interface ReportTarget {
  name: string;
  peakRssBytes?: number;
  /** The highest group total (PSS where every process had one, else RSS) and its basis. */
  peakTotalBytes?: number;
  peakTotalBasis?: 'pss' | 'rss';
  lastRssBytes?: number;
  firstRssBytes?: number;
  /** Last minus first RSS over the range. */
  growthBytes?: number;
  growthBytesPerHour?: number;
  /** Processes at the last point. */
  processes?: number;
  /** Set when the target has no sample near the end of the range: its processes are gone since. */
  goneSinceMs?: number;
  trend?: TargetTrend;
}

export interface ReportData {
  title: string;
  generatedAt: number;
  sinceMs: number;
  untilMs: number;
  system: SystemChartPoint[];
  targets: (ReportTarget & { points: TargetPoint[]; members: MemberLine[] })[];
  events: HistoryEvent[];
}

/**
 * A target whose last sample lies this many of its usual gaps (and at least a minute) before
 * the end of the range has no process any more, whatever the last sample counted.
 */
const GONE_AFTER_GAPS = 3;

export function summarise(
  name: string,
  points: readonly TargetPoint[],
  trend?: TargetTrend,
  untilMs?: number,
): ReportTarget {
  const summary: ReportTarget = { name };
  const first = points[0];
  const last = points[points.length - 1];
  if (first && last) {
    summary.peakRssBytes = Math.max(...points.map((p) => p.rss));
    const top = points.reduce((a, b) => (b.total > a.total ? b : a));
    summary.peakTotalBytes = top.total;
    summary.peakTotalBasis = top.basis;
    summary.firstRssBytes = first.rss;
    summary.lastRssBytes = last.rss;
    summary.growthBytes = last.rss - first.rss;
    summary.processes = last.processes;
    const hours = (last.time - first.time) / 3_600_000;
    if (hours > 0) summary.growthBytesPerHour = summary.growthBytes / hours;
    const gapMs = points.length > 1 ? (last.time - first.time) / (points.length - 1) : 0;
    if (untilMs !== undefined && untilMs - last.time > Math.max(60_000, GONE_AFTER_GAPS * gapMs))
      summary.goneSinceMs = last.time;
  }
  if (trend) summary.trend = trend;
  return summary;
}

export async function collectReport(source: HistorySource, options: ReportOptions): Promise<ReportData> {
  const untilMs = options.untilMs ?? Date.now();
  const range = { sinceMs: options.sinceMs, untilMs, maxPoints: options.maxPoints ?? 1000 };
  const names = await source.targets();
  const targets = await Promise.all(
    names.map(async (name) => {
      const series = await source.series({ ...range, target: name });
      const points = totalsByTime(series);
      return {
        ...summarise(name, points, await source.trend?.(name), untilMs),
        points,
        members: memberLines(series),
      };
    }),
  );
  return {
    title: options.title ?? 'memwarden report',
    generatedAt: Date.now(),
    sinceMs: options.sinceMs,
    untilMs,
    system: await source.system(range),
    targets,
    events: await source.events({ sinceMs: options.sinceMs, untilMs, limit: options.maxEvents ?? 1000 }),
  };
}

/** JSON that cannot end the `<script>` element it sits in, whatever strings it carries. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function inlineAsset(name: string): string {
  const asset = webAssets().get(name);
  if (!asset) throw new Error(`missing web asset ${name}`);
  // A `</script` inside a string or regex literal would end the element early.
  return asset.body.toString('utf8').replace(/<\/(script|style)/gi, '<\\/$1');
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * One self-contained HTML file: uPlot, the chart code and the data inlined, nothing fetched.
 * Its CSP allows exactly the inlined scripts and styles (by hash) and no network at all, so the
 * file is safe to attach to a ticket and open anywhere.
 */
export async function renderReport(source: HistorySource, options: ReportOptions): Promise<string> {
  const data = await collectReport(source, options);
  const scripts = [inlineAsset('uPlot.min.js'), inlineAsset('charts.js'), inlineAsset('report.js')];
  const styles = [inlineAsset('uPlot.min.css'), inlineAsset('report.css')];
  const csp = [
    "default-src 'none'",
    `script-src ${scripts.map(sha256).join(' ')}`,
    `style-src ${styles.map(sha256).join(' ')}`,
    'img-src data:',
  ].join('; ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(data.title)}</title>
${styles.map((s) => `<style>${s}</style>`).join('\n')}
</head>
<body>
<main id="report"></main>
<script type="application/json" id="report-data">${jsonForScript(data)}</script>
${scripts.map((s) => `<script>${s}</script>`).join('\n')}
</body>
</html>
`;
}
