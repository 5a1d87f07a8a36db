/**
 * ui: what people look at — terminal tables now; the live view, dashboard and report build here.
 */
export { type Column, renderTable } from './table.js';
export { printable } from './text.js';
