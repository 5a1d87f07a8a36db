/**
 * Units as people write them in flags and config files: sizes (`500MB`, `1.5GiB`), durations
 * (`10s`, `5m`, `250ms`) and percentages (`40%`), parsed strictly (a bare number is an error,
 * `MB` and `MiB` differ) and formatted back for display; and the word a typo most likely
 * meant, for the errors about them (flags, config keys, rule names).
 */
export { formatBytes, formatCount, formatDuration, formatDurationWords, formatPercent } from './format.js';
export { DEFAULT_LISTEN_HOST, parseListen } from './listen.js';
export { parseDuration, parsePercent, parseSize, parseSizeOrPercent, type SizeOrPercent } from './parse.js';
export { didYouMean } from './suggest.js';
