// The static report: everything it shows comes from the inlined JSON; strings enter the DOM
// only as text.
(() => {
  const C = window.MemwardenCharts;
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const root = document.getElementById('report');

  root.appendChild(C.el('h1', null, data.title));
  root.appendChild(
    C.el(
      'p',
      'muted',
      `${new Date(data.sinceMs).toLocaleString()} – ${new Date(data.untilMs).toLocaleString()} · generated ${new Date(data.generatedAt).toLocaleString()}`,
    ),
  );

  const range = { since: data.sinceMs, until: data.untilMs };
  const pending = [];

  const machine = C.el('section', 'system');
  machine.appendChild(C.el('h2', null, 'Machine'));
  const peak = (key) => {
    const values = data.system.map((p) => p[key]).filter((v) => v !== undefined);
    return values.length > 0 ? Math.max(...values) : undefined;
  };
  const peakSome = peak('psiSome');
  if (peakSome !== undefined)
    machine.appendChild(
      C.el(
        'p',
        'pressure',
        `memory pressure (10 s averages): peak ${C.formatPercent(peakSome)} some, ${C.formatPercent(peak('psiFull'))} full`,
      ),
    );
  const systemChart = C.el('div', 'chart');
  machine.appendChild(systemChart);
  root.appendChild(machine);
  // The machine's chart marks the machine's events; each target's chart marks its own.
  pending.push(() =>
    C.systemChart(systemChart).update(
      data.system,
      data.events.filter((e) => !e.target),
      range,
    ),
  );

  function summaryTable(t) {
    const table = C.el('table', 'summary');
    const rows = [
      [
        'processes',
        t.goneSinceMs === undefined
          ? (t.processes ?? '-')
          : `none since ${new Date(t.goneSinceMs).toLocaleString()}`,
      ],
      ['peak RSS', C.formatBytes(t.peakRssBytes)],
      [
        'peak total',
        t.peakTotalBytes === undefined
          ? '-'
          : `${C.formatBytes(t.peakTotalBytes)} (${t.peakTotalBasis === 'pss' ? 'PSS' : 'RSS'})`,
      ],
      ['last RSS', C.formatBytes(t.lastRssBytes)],
      // The raw change is last minus first, gc dips and all; the verdict is the trend of the
      // floor under them, which is what a leak moves: both are said as what they are.
      ['raw change over the range (last − first)', C.formatBytes(t.growthBytes)],
      ['raw change per hour', C.formatBytes(t.growthBytesPerHour)],
      ['leak verdict (trend of the floor)', t.trend ? C.trendText(t.trend) : 'none recorded'],
    ];
    for (const [k, v] of rows) {
      const row = C.el('tr');
      row.appendChild(C.el('th', null, k));
      row.appendChild(
        C.el('td', k.startsWith('leak verdict') && t.trend?.verdict === 'leak' ? 'leak' : null, v),
      );
      table.appendChild(row);
    }
    return table;
  }

  for (const t of data.targets) {
    const section = C.el('section', 'target');
    section.setAttribute('data-target', t.name);
    section.appendChild(C.el('h2', null, t.name));
    section.appendChild(summaryTable(t));
    const chart = C.el('div', 'chart');
    section.appendChild(chart);
    root.appendChild(section);
    const events = data.events.filter((e) => e.target === t.name);
    pending.push(() => C.memoryChart(chart).update(t.points, t.trend, events, range, t.members));
  }

  const events = C.el('section', 'events');
  events.appendChild(C.el('h2', null, 'Events'));
  events.appendChild(C.eventList(data.events));
  root.appendChild(events);

  // Charts are sized from their containers, which have a width only once in the document.
  for (const draw of pending) draw();
})();
