import type { NotifyConfig } from '../actions/index.js';
import type { ConfigReader, Entry } from './reader.js';

export const NOTIFY_KEYS = ['slack', 'ntfy', 'email', 'desktop'];
const EMAIL_KEYS = ['smtp', 'from', 'to', 'secure'];

function httpUrl(r: ConfigReader, entry: Entry, key: string): string | undefined {
  const text = r.string(entry.value, ['notify', key], 'an http(s) URL', entry.key);
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    r.report(entry.value, ['notify', key], `invalid URL '${text}'`);
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    r.report(
      entry.value,
      ['notify', key],
      `the URL must be http or https, not ${url.protocol.replace(/:$/, '')}`,
    );
    return undefined;
  }
  if (key === 'ntfy' && url.pathname.replace(/\//g, '') === '') {
    r.report(entry.value, ['notify', key], 'expected a topic URL such as https://ntfy.sh/my-alerts');
    return undefined;
  }
  return text;
}

/** The `notify:` section: where fired rules, OOM kills and the guard's decisions are sent. */
export function parseNotifySection(r: ConfigReader, entry: Entry | undefined): NotifyConfig | undefined {
  if (entry === undefined) return undefined;
  const fields = r.map(entry.value, ['notify'], NOTIFY_KEYS, entry.key);
  if (fields === undefined) return undefined;
  const config: NotifyConfig = {};
  for (const key of ['slack', 'ntfy'] as const) {
    const e = fields.get(key);
    if (e === undefined) continue;
    const url = httpUrl(r, e, key);
    if (url !== undefined) config[key] = url;
  }
  const desktop = fields.get('desktop');
  if (desktop !== undefined) {
    const on = r.boolean(desktop.value, ['notify', 'desktop'], desktop.key);
    if (on !== undefined) config.desktop = on;
  }
  const email = fields.get('email');
  if (email !== undefined) {
    const e = r.map(email.value, ['notify', 'email'], EMAIL_KEYS, email.key);
    const smtp = e?.get('smtp');
    const from = e?.get('from');
    const to = e?.get('to');
    const server =
      smtp === undefined
        ? undefined
        : r.string(smtp.value, ['notify', 'email', 'smtp'], 'host:port', smtp.key);
    const m = server === undefined ? null : /^(.+):(\d{1,5})$/.exec(server);
    if (smtp !== undefined && server !== undefined && !m)
      r.report(
        smtp.value,
        ['notify', 'email', 'smtp'],
        `expected host:port such as 127.0.0.1:25, found '${server}'`,
      );
    const fromText =
      from === undefined
        ? undefined
        : r.string(from.value, ['notify', 'email', 'from'], 'an address', from.key);
    const toList =
      to === undefined ? undefined : r.stringList(to.value, ['notify', 'email', 'to'], 'an address', to.key);
    if (e !== undefined && (smtp === undefined || from === undefined || to === undefined))
      r.report(email.value, ['notify', 'email'], 'e-mail needs smtp: host:port, from: and to:');
    const secureEntry = e?.get('secure');
    const secure =
      secureEntry === undefined
        ? undefined
        : r.boolean(secureEntry.value, ['notify', 'email', 'secure'], secureEntry.key);
    if (m && fromText !== undefined && toList !== undefined) {
      config.email = { host: m[1] as string, port: Number(m[2]), from: fromText, to: toList };
      if (secure !== undefined) config.email.secure = secure;
    }
  }
  return config;
}
