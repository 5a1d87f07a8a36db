/**
 * ui: what people look at — terminal tables, the live `top` view, the local web dashboard with
 * its JSON API and `/metrics`, and the self-contained HTML report. It reads ticks (live) and a
 * `HistorySource` (the store, or the in-memory `LiveHistory`).
 */
export type {
  ActionHandler,
  ActionRequest,
  RequestedAction,
  RequestOutcome,
} from './actions.js';
export type {
  Awaitable,
  EventQuery,
  HistoryEvent,
  HistorySource,
  RangeQuery,
  SeriesPoint,
  SeriesQuery,
  SystemChartPoint,
} from './history.js';
export { byTime, downsampleSystem, type GroupTotal, groupTotal, SeriesDownsampler } from './history.js';
export { isLoopbackHost } from './host-check.js';
export { LiveHistory } from './live-history.js';
export {
  collectReport,
  type ReportData,
  type ReportOptions,
  type ReportTarget,
  renderReport,
} from './report.js';
export { type DashboardOptions, DashboardServer } from './server.js';
export { storeHistory } from './store-history.js';
export { type Column, renderTable } from './table.js';
export { printable } from './text.js';
export { runTopInteractive, runTopPlain, type TopOptions } from './top.js';
export { sparkline, TopModel } from './top-model.js';
