// The dashboard: polls the JSON API and redraws. Process strings reach the DOM only through
// MemwardenCharts.el (textContent).
(() => {
  const C = window.MemwardenCharts;
  const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
  const csrf = meta('memwarden-csrf');
  const refreshMs = Math.max(1000, Number(meta('memwarden-refresh-ms')) || 5000);
  const rangeSelect = document.getElementById('range');
  const statusLine = document.getElementById('status');
  const charts = [];

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

  async function runAction(pid, action, result) {
    if (!window.confirm(`Run ${action} on pid ${pid}?`)) return;
    result.textContent = '…';
    try {
      const res = await fetch('/api/action', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({ pid, action }),
      });
      const body = await res.json();
      result.textContent = body.message ?? body.error ?? `HTTP ${res.status}`;
    } catch (err) {
      result.textContent = String(err);
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
      const result = C.el('span', 'result');
      for (const action of ['gc', 'snapshot']) {
        const button = C.el('button', null, action);
        button.type = 'button';
        button.addEventListener('click', () => runAction(p.pid, action, result));
        actions.appendChild(button);
      }
      actions.appendChild(result);
      row.appendChild(actions);
      table.appendChild(row);
    }
    return table;
  }

  async function targetSection(target, r, events) {
    const section = C.el('section', 'target');
    section.setAttribute('data-target', target.name);
    section.appendChild(C.el('h2', null, target.name));
    const summary = C.el('p', 'summary');
    summary.appendChild(
      C.el(
        'span',
        null,
        `${target.processes.length} process(es), RSS ${C.formatBytes(target.rssBytes)}` +
          (target.pssBytes === undefined ? '' : `, PSS ${C.formatBytes(target.pssBytes)}`),
      ),
    );
    if (target.trend) {
      summary.appendChild(C.el('span', null, ' · '));
      summary.appendChild(
        C.el('span', target.trend.verdict === 'leak' ? 'leak' : 'muted', C.trendText(target.trend)),
      );
    }
    section.appendChild(summary);
    const chart = C.el('div', 'chart');
    section.appendChild(chart);
    section.appendChild(processTable(target.processes));
    const series = await getJson(`/api/series?${query({ target: target.name, ...r })}`);
    return { section, chart, points: series.points, events: events.filter((e) => e.target === target.name) };
  }

  async function refresh() {
    const r = range();
    const [live, system, events] = await Promise.all([
      getJson('/api/live'),
      getJson(`/api/system?${query(r)}`),
      getJson(`/api/events?${query({ since: r.since, until: r.until, limit: 200 })}`),
    ]);
    const targets = live ? live.targets : [];
    const built = await Promise.all(targets.map((t) => targetSection(t, r, events.events)));

    for (const chart of charts.splice(0)) chart.destroy();
    const summary = document.getElementById('system-summary');
    if (live) {
      const s = live.system;
      summary.textContent =
        `memory ${C.formatBytes(s.memUsed)} used of ${C.formatBytes(s.memTotal)} (${C.formatPercent(s.memPercent)}), ` +
        `${C.formatBytes(s.memAvailable)} available · CPU ${C.formatPercent(s.cpuPercent)} of ${s.cpuCount} cores · ` +
        `load ${s.load1.toFixed(2)}`;
    }
    const systemChart = document.getElementById('system-chart');
    systemChart.replaceChildren();
    charts.push(C.systemChart(systemChart, system.points, events.events));

    const container = document.getElementById('targets');
    container.replaceChildren();
    for (const b of built) {
      container.appendChild(b.section);
      const target = targets.find((t) => t.name === b.section.getAttribute('data-target'));
      charts.push(C.memoryChart(b.chart, b.points, target?.trend, b.events));
    }
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

  rangeSelect.addEventListener('change', loop);
  loop();
})();
