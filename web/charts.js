// Chart and DOM helpers shared by the dashboard and the report. Every string that came from a
// process goes into the page through textContent, never as markup.
(() => {
  const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

  function formatBytes(bytes) {
    if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '-';
    let value = Math.abs(bytes);
    let unit = 0;
    while (value >= 1024 && unit < UNITS.length - 1) {
      value /= 1024;
      unit++;
    }
    const digits = unit === 0 ? 0 : value < 10 ? 2 : value < 100 ? 1 : 0;
    return `${bytes < 0 ? '-' : ''}${value.toFixed(digits)} ${UNITS[unit]}`;
  }

  function formatPercent(p) {
    return p === null || p === undefined || !Number.isFinite(p) ? '-' : `${p.toFixed(1)}%`;
  }

  function formatSeconds(s) {
    if (!Number.isFinite(s)) return '∞';
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (d > 0) return `${d}d${h}h`;
    if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
    return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  }

  /** A new element with text set as text. */
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function trendText(trend) {
    if (!trend) return '';
    if (trend.verdict === 'insufficient')
      return trend.reason ? `trend: not enough data yet (${trend.reason})` : 'trend: not enough data yet';
    let text = trend.verdict === 'leak' ? 'leak suspected' : 'no leak';
    if (Number.isFinite(trend.slopeBytesPerSecond))
      text += `, ${formatBytes(trend.slopeBytesPerSecond * 3600)}/h`;
    if (Number.isFinite(trend.timeToLimitSeconds))
      text += `, limit in ${formatSeconds(trend.timeToLimitSeconds)}`;
    return text;
  }

  const EVENT_COLOUR = '#c0392b';

  /**
   * Events closer than this on the chart (CSS pixels) are one marker: a repeating rule makes
   * one mark per stretch of the chart, with its count, not a line a few pixels from the next.
   */
  const EVENT_GROUP_PX = 14;
  /** Half the width of a marker's triangle, in CSS pixels. */
  const MARKER_PX = 5;

  /** The events of the chart grouped by where they fall on it: [{ x, events }], left to right. */
  function eventGroups(u) {
    const { left, width } = u.bbox;
    const groups = [];
    const sorted = [...(u.memwardenEvents || [])].sort((a, b) => a.time - b.time);
    for (const e of sorted) {
      const x = u.valToPos(e.time / 1000, 'x', true);
      if (x < left || x > left + width) continue;
      const last = groups[groups.length - 1];
      if (last && x - last.first < EVENT_GROUP_PX * devicePixelRatio) {
        last.events.push(e);
        last.x = (last.first + x) / 2;
      } else groups.push({ x, first: x, events: [e] });
    }
    return groups;
  }

  /**
   * Marks the chart's events as small triangles along its top edge, those close together as one
   * with their count; hovering near one names them (the chart's title). No line crosses the
   * data, so a chart with dozens of events still shows its series.
   */
  const eventMarkers = {
    hooks: {
      draw: [
        (u) => {
          const { ctx } = u;
          const { top } = u.bbox;
          const half = MARKER_PX * devicePixelRatio;
          const groups = eventGroups(u);
          // Where the markers are (CSS pixels from the plot's left edge), for tests: written as
          // drawn, since uPlot applies new data and scales a moment after setData.
          if (u.root.parentElement)
            u.root.parentElement.dataset.eventMarks = groups
              .map((g) => Math.round((g.x - u.bbox.left) / devicePixelRatio))
              .join(' ');
          ctx.save();
          ctx.fillStyle = EVENT_COLOUR;
          ctx.font = `${10 * devicePixelRatio}px sans-serif`;
          for (const g of groups) {
            ctx.beginPath();
            ctx.moveTo(g.x - half, top);
            ctx.lineTo(g.x + half, top);
            ctx.lineTo(g.x, top + half * 1.6);
            ctx.closePath();
            ctx.fill();
            if (g.events.length > 1) {
              ctx.textBaseline = 'top';
              ctx.fillText(`×${g.events.length}`, g.x + half + 2 * devicePixelRatio, top);
            }
          }
          ctx.restore();
        },
      ],
      setCursor: [
        (u) => {
          const left = u.cursor.left;
          if (left == null || left < 0) {
            u.over.title = '';
            return;
          }
          const x = left * devicePixelRatio + u.bbox.left;
          const near = eventGroups(u).find(
            (g) => Math.abs(g.x - x) <= (EVENT_GROUP_PX / 2 + MARKER_PX) * devicePixelRatio,
          );
          u.over.title = near
            ? near.events
                .map((e) => `${new Date(e.time).toLocaleTimeString()} ${e.kind}: ${e.message}`)
                .join('\n')
            : '';
        },
      ],
    },
  };

  function chartWidth(container) {
    return Math.max(320, Math.floor(container.clientWidth || 800) - 8);
  }

  /**
   * One target's memory over time: RSS, PSS when known, the group's total, and the trend line (from the last point
   * at the detector's slope) when a trend is present. `points` are [{time, rss, pss}].
   */
  /** Member lines: thin and muted, so the total stays the line that reads first. */
  const MEMBER_COLOURS = [
    '#7f8c8d',
    '#a569bd',
    '#5dade2',
    '#48c9b0',
    '#f5b041',
    '#ec7063',
    '#99a3a4',
    '#af7ac5',
  ];

  function memorySeries(points, trend, members = []) {
    const xs = points.map((p) => p.time / 1000);
    const series = [{}, { label: 'RSS', stroke: '#2c7be5', width: 2, value: (_, v) => formatBytes(v) }];
    const data = [xs, points.map((p) => p.rss)];
    if (points.some((p) => p.pss !== undefined && p.pss !== null)) {
      series.push({ label: 'PSS', stroke: '#00a86b', width: 1, value: (_, v) => formatBytes(v) });
      data.push(points.map((p) => (p.pss === undefined ? null : p.pss)));
    }
    // The group's total: PSS summed where every process had one, else RSS; the legend says which.
    if (points.some((p) => p.total !== undefined)) {
      const last = points[points.length - 1];
      series.push({
        label: last?.basis === 'pss' ? 'total (PSS)' : 'total (RSS)',
        stroke: '#6c3483',
        width: 2,
        dash: [2, 2],
        value: (_, v) => formatBytes(v),
      });
      data.push(points.map((p) => (p.total === undefined ? null : p.total)));
    }
    // The biggest members, one line each, beside the total they make up.
    members.forEach((m, i) => {
      series.push({
        label: `pid ${m.pid}`,
        stroke: MEMBER_COLOURS[i % MEMBER_COLOURS.length],
        width: 1,
        value: (_, v) => formatBytes(v),
      });
      data.push(m.rss);
    });
    // The target's cgroup memory pressure (cgroup v2), on its own 0–100 % axis at the right.
    for (const s of PRESSURE_SERIES) {
      if (!points.some((p) => p[s.key] !== undefined)) continue;
      const { key, label, ...shown } = s;
      series.push({ ...shown, label: `cgroup ${label}`, scale: '%', value: (_, v) => formatPercent(v) });
      data.push(points.map((p) => (p[key] === undefined ? null : p[key])));
    }
    const last = points[points.length - 1];
    if (trend && Number.isFinite(trend.slopeBytesPerSecond) && last) {
      series.push({
        label: 'trend',
        stroke: trend.verdict === 'leak' ? EVENT_COLOUR : '#888',
        dash: [6, 4],
        width: 1,
        value: (_, v) => formatBytes(v),
      });
      data.push(xs.map((x) => last.rss + trend.slopeBytesPerSecond * (x - last.time / 1000)));
    }
    return { series, data };
  }

  /**
   * The x axis in seconds: the chosen range, so a gap shows as a gap; but when the data begin
   * later than the range does (a fresh serve, a short run), from a little before the first
   * point, so that new data fill the chart instead of a sliver at its right edge.
   */
  function xAxisRange(xs, range) {
    const since = range.since / 1000;
    const until = range.until / 1000;
    const first = xs.length > 0 ? xs[0] : undefined;
    if (first === undefined || first <= since) return [since, until];
    return [Math.max(since, first - Math.max(1, (until - first) * 0.05)), until];
  }

  /** Legends show the latest values while the cursor is off the chart, not a dash. */
  function showLatest(u) {
    const n = u.data[0].length;
    if (u.cursor.idx == null && n > 0) u.setLegend({ idx: n - 1 });
  }

  /** A chart that can be fed again: same series → new data in place; otherwise rebuilt. */
  function liveChart(container, build) {
    let chart;
    let shape = '';
    let xRange;
    const scales = { ...build.scales, x: { time: true, range: (_, min, max) => xRange ?? [min, max] } };
    const hooks = { setCursor: [showLatest] };
    return {
      update(options, data, events, range) {
        xRange = range ? xAxisRange(data[0], range) : undefined;
        const next = options.series.map((s) => s.label || '').join('|');
        if (!chart || next !== shape) {
          chart?.destroy();
          container.replaceChildren();
          chart = new uPlot(
            { ...build, ...options, scales, hooks, width: chartWidth(container) },
            data,
            container,
          );
          shape = next;
        } else chart.setData(data);
        chart.memwardenEvents = events || [];
        chart.redraw(false, false);
        showLatest(chart);
        container.dataset.points = String(data[0].length);
        container.dataset.xMin = String(xRange?.[0] ?? '');
      },
      resize() {
        chart?.setSize({ width: chartWidth(container), height: build.height });
      },
    };
  }

  function bytesRange(_, min, max) {
    if (min == null || max == null) return [0, 1];
    const pad = Math.max((max - min) * 0.05, max * 0.05, 1024);
    return [Math.max(0, min - pad), max + pad];
  }

  /** Whole seconds at least: a chart of a few seconds is labelled :24 :25, not :24.000 :24.500. */
  const TIME_AXIS = {
    space: 60,
    incrs: [
      1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800,
    ],
  };
  const BYTES_AXES = [TIME_AXIS, { values: (_, ticks) => ticks.map(formatBytes), size: 80 }];
  const PRESSURE_AXIS = {
    scale: '%',
    side: 1,
    grid: { show: false },
    values: (_, ticks) => ticks.map((t) => `${t}%`),
  };

  function memoryChart(container) {
    const live = liveChart(container, {
      height: 220,
      // A flat line still gets an axis whose labels differ: at least ±5 % of the value around it.
      scales: { y: { range: bytesRange }, '%': { range: [0, 100] } },
      plugins: [eventMarkers],
    });
    return {
      update(points, trend, events, range, members) {
        const { series, data } = memorySeries(points, trend, members);
        const pressure = series.some((s) => s.scale === '%');
        container.dataset.pressure = String(pressure);
        container.dataset.members = String(members?.length ?? 0);
        live.update(
          { series, axes: pressure ? [...BYTES_AXES, PRESSURE_AXIS] : BYTES_AXES },
          data,
          events,
          range,
        );
      },
      resize: live.resize,
    };
  }

  const PRESSURE_SERIES = [
    { key: 'psiSome', label: 'memory pressure some %', stroke: '#8e44ad', width: 1, dash: [5, 3] },
    { key: 'psiFull', label: 'memory pressure full %', stroke: EVENT_COLOUR, width: 2 },
  ];

  /**
   * The machine: memory used %, CPU % and, where the kernel keeps it, memory pressure (the share
   * of the last 10 s that some / all tasks stalled on memory), all on one 0–100 scale.
   */
  function systemChart(container) {
    const base = [
      {},
      { label: 'memory used %', stroke: '#2c7be5', width: 2, value: (_, v) => formatPercent(v) },
      { label: 'CPU %', stroke: '#e67e22', width: 1, value: (_, v) => formatPercent(v) },
    ];
    const live = liveChart(container, {
      height: 180,
      scales: { y: { range: [0, 100] } },
      axes: [TIME_AXIS, { values: (_, ticks) => ticks.map((t) => `${t}%`) }],
      plugins: [eventMarkers],
    });
    return {
      update(points, events, range) {
        const orNull = (v) => (v === undefined ? null : v);
        const series = [...base];
        const data = [
          points.map((p) => p.time / 1000),
          points.map((p) => p.memPercent),
          points.map((p) => orNull(p.cpuPercent)),
        ];
        for (const s of PRESSURE_SERIES) {
          if (!points.some((p) => p[s.key] !== undefined)) continue;
          const { key, ...shown } = s;
          series.push({ ...shown, value: (_, v) => formatPercent(v) });
          data.push(points.map((p) => orNull(p[key])));
        }
        container.dataset.pressure = String(series.length > base.length);
        live.update({ series }, data, events, range);
      },
      resize: live.resize,
    };
  }

  function eventList(events) {
    const list = el('ul', 'events');
    if (events.length === 0) list.appendChild(el('li', 'muted', 'no events in this range'));
    for (const e of events) {
      const item = el('li');
      item.appendChild(el('time', null, new Date(e.time).toLocaleString()));
      item.appendChild(el('span', 'kind', e.kind));
      item.appendChild(el('span', 'target', e.target));
      if (e.pid !== undefined) item.appendChild(el('span', 'pid', `pid ${e.pid}`));
      item.appendChild(el('span', 'message', e.message));
      list.appendChild(item);
    }
    return list;
  }

  window.MemwardenCharts = {
    el,
    eventList,
    formatBytes,
    formatPercent,
    formatSeconds,
    memoryChart,
    systemChart,
    trendText,
  };
})();
