// The dashboard: polls the JSON API and updates in place. Process strings reach the DOM only
// through MemwardenCharts.el (textContent).
(() => {
  const C = window.MemwardenCharts;
  const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
  const csrf = meta('memwarden-csrf');
  const refreshMs = Math.max(1000, Number(meta('memwarden-refresh-ms')) || 5000);
  const rangeSelect = document.getElementById('range');
  const statusLine = document.getElementById('status');
  const systemChart = C.systemChart(document.getElementById('system-chart'));
  /** One view per target name, kept across refreshes so charts update instead of flickering. */
  const views = new Map();
  /** The last action answer per process, shown again when its table is redrawn. */
  const actionResults = new Map();

  async function getJson(path) {
    const res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res.json();
  }

  function range() {
    const span = Number(rangeSelect.value);
    const until = Date.now();
    return {
      since: until - span,
      until,
      points: Math.min(1000, Math.max(100, Math.floor(window.innerWidth))),
    };
  }

  function query(params) {
    return new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();
  }

  async function runAction(pid, startTicks, action, result) {
    if (!window.confirm(`Run ${action} on pid ${pid}?`)) return;
    const key = `${pid}:${startTicks}`;
    const show = (text) => {
      actionResults.set(key, text);
      result.textContent = text;
    };
    show('…');
    try {
      const res = await fetch('/api/action', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({ pid, startTicks, action }),
      });
      const body = await res.json();
      show(body.message ?? body.error ?? `HTTP ${res.status}`);
    } catch (err) {
      show(String(err));
    }
  }

  function processTable(processes) {
    const table = C.el('table');
    const head = C.el('tr');
    for (const [text, cls] of [
      ['PID', 'num'],
      ['NAME'],
      ['RSS', 'num'],
      ['PSS', 'num'],
      ['MEM%', 'num'],
      ['LIM%', 'num'],
      ['CPU%', 'num'],
      ['COMMAND'],
      [''],
    ])
      head.appendChild(C.el('th', cls, text));
    table.appendChild(head);
    for (const p of processes) {
      const row = C.el('tr');
      row.appendChild(C.el('td', 'num', p.pid));
      row.appendChild(C.el('td', 'name', p.name));
      row.appendChild(C.el('td', 'num', C.formatBytes(p.rss)));
      row.appendChild(C.el('td', 'num', C.formatBytes(p.pss)));
      row.appendChild(C.el('td', 'num', C.formatPercent(p.memPercent)));
      row.appendChild(C.el('td', 'num', C.formatPercent(p.memLimitPercent)));
      row.appendChild(C.el('td', 'num', C.formatPercent(p.cpuPercent)));
      row.appendChild(C.el('td', 'command', p.command));
      const actions = C.el('td');
      const result = C.el('span', 'result', actionResults.get(`${p.pid}:${p.startTicks}`) ?? '');
      for (const action of ['gc', 'snapshot']) {
        const button = C.el('button', null, action);
        button.type = 'button';
        button.addEventListener('click', () => runAction(p.pid, p.startTicks, action, result));
        actions.appendChild(button);
      }
      actions.appendChild(result);
      row.appendChild(actions);
      table.appendChild(row);
    }
    return table;
  }

  function targetView(name) {
    const section = C.el('section', 'target');
    section.setAttribute('data-target', name);
    section.appendChild(C.el('h2', null, name));
    const summary = C.el('p', 'summary');
    const chartBox = C.el('div', 'chart');
    const tableBox = C.el('div');
    section.append(summary, chartBox, tableBox);
    return { section, summary, tableBox, chart: C.memoryChart(chartBox) };
  }

  function fillSummary(summary, target) {
    const count = target.processes.length;
    const parts = [
      C.el(
        'span',
        null,
        target.unknown
          ? "processes unknown: /proc hides other users' processes (hidepid)"
          : target.storedOnly
            ? 'in the history only: not sampled by this server'
            : `${count} ${count === 1 ? 'process' : 'processes'}, RSS ${C.formatBytes(target.rssBytes)}` +
              (target.pssBytes === undefined ? '' : `, PSS ${C.formatBytes(target.pssBytes)}`),
      ),
    ];
    if (target.trend) {
      parts.push(C.el('span', null, ' · '));
      parts.push(C.el('span', target.trend.verdict === 'leak' ? 'leak' : 'muted', C.trendText(target.trend)));
    }
    summary.replaceChildren(...parts);
  }

  async function refresh() {
    const r = range();
    const [live, system, events, stored] = await Promise.all([
      getJson('/api/live'),
      getJson(`/api/system?${query(r)}`),
      getJson(`/api/events?${query({ since: r.since, until: r.until, limit: 200 })}`),
      getJson('/api/targets'),
    ]);
    // The live targets first, then those only the history knows (serve --store with no
    // pattern for them): their charts come from the history alone.
    const liveTargets = live ? live.targets : [];
    const liveNames = new Set(liveTargets.map((t) => t.name));
    const targets = [
      ...liveTargets,
      ...stored
        .filter((t) => !liveNames.has(t.name))
        .map((t) => ({ name: t.name, processes: [], trend: t.trend ?? undefined, storedOnly: true })),
    ];
    const series = await Promise.all(
      targets.map((t) => getJson(`/api/series?${query({ target: t.name, ...r })}`)),
    );

    if (live) {
      const s = live.system;
      document.getElementById('system-summary').textContent =
        `memory ${C.formatBytes(s.memUsed)} used of ${C.formatBytes(s.memTotal)} (${C.formatPercent(s.memPercent)}), ` +
        `${C.formatBytes(s.memAvailable)} available · CPU ${C.formatPercent(s.cpuPercent)} of ${s.cpuCount} cores · ` +
        `load ${s.load1.toFixed(2)}` +
        (s.pressure
          ? ` · memory pressure ${C.formatPercent(s.pressure.some.avg10)} some, ${C.formatPercent(s.pressure.full?.avg10)} full (10 s)`
          : '');
    }
    // The machine's chart marks the machine's events; each target's chart marks its own.
    systemChart.update(
      system.points,
      events.events.filter((e) => !e.target),
      r,
    );

    const container = document.getElementById('targets');
    const names = new Set(targets.map((t) => t.name));
    for (const [name, view] of views) {
      if (names.has(name)) continue;
      view.section.remove();
      views.delete(name);
    }
    targets.forEach((target, i) => {
      let view = views.get(target.name);
      if (!view) {
        view = targetView(target.name);
        views.set(target.name, view);
      }
      // Appending an element already in place moves it: the order follows the API's.
      container.appendChild(view.section);
      fillSummary(view.summary, target);
      if (target.storedOnly) view.tableBox.replaceChildren();
      else view.tableBox.replaceChildren(processTable(target.processes));
      view.chart.update(
        series[i].points,
        target.trend,
        events.events.filter((e) => e.target === target.name),
        r,
        series[i].members,
      );
    });
    const shown = new Set(targets.flatMap((t) => t.processes.map((p) => `${p.pid}:${p.startTicks}`)));
    for (const key of actionResults.keys()) if (!shown.has(key)) actionResults.delete(key);
    document.getElementById('events').replaceChildren(C.eventList(events.events));
    statusLine.textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  let timer;
  async function loop() {
    clearTimeout(timer);
    try {
      await refresh();
    } catch (err) {
      statusLine.textContent = `update failed: ${err.message}`;
    }
    timer = setTimeout(loop, refreshMs);
  }

  window.addEventListener('resize', () => {
    systemChart.resize();
    for (const view of views.values()) view.chart.resize();
  });
  rangeSelect.addEventListener('change', loop);
  loop();
})();
