// The reports page: GET /api/reports as CSV for the table (the same columns and rounding
// as `callcenter report --format csv`) and as JSON for the charts (uPlot, vendored:
// uPlot.iife.min.js, MIT, see uPlot.LICENSE.txt). No figure is computed here.
"use strict";

(function () {
  const form = document.getElementById("rep-form");
  const status = document.getElementById("rep-status");
  const head = document.getElementById("rep-head");
  const body = document.getElementById("rep-rows");
  const csvLink = document.getElementById("rep-csv");
  const charts = {
    share: document.getElementById("rep-chart-share"),
    count: document.getElementById("rep-chart-count"),
  };
  let plots = [];

  function isoDay(d) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }

  // one CSV line per row; quoted fields as Python's csv module writes them
  function parseCsv(text) {
    const rows = [];
    let row = [], field = "", quoted = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
        else if (c === '"') quoted = false;
        else field += c;
      } else if (c === '"') quoted = true;
      else if (c === ",") { row.push(field); field = ""; }
      else if (c === "\n") { row.push(field); rows.push(row); row = []; field = ""; }
      else field += c;
    }
    if (field !== "" || row.length) { row.push(field); rows.push(row); }
    return rows;
  }

  function fillTable(rows) {
    head.textContent = "";
    body.textContent = "";
    if (!rows.length) return;
    const tr = document.createElement("tr");
    for (const name of rows[0]) {
      const th = document.createElement("th");
      th.textContent = name;
      tr.appendChild(th);
    }
    head.appendChild(tr);
    for (const cells of rows.slice(1)) {
      const line = document.createElement("tr");
      line.dataset.testid = "rep-row";
      cells.forEach((value, i) => {
        const td = document.createElement("td");
        td.textContent = value;
        td.dataset.col = rows[0][i];
        line.appendChild(td);
      });
      body.appendChild(line);
    }
  }

  function pct(v) { return v === null || v === undefined ? null : Math.round(1000 * v) / 10; }

  function chart(el, title, labels, series, bars) {
    const xs = labels.map((_, i) => i);
    const opts = {
      title: title,
      width: Math.max(320, Math.min(720, 80 * labels.length + 160)),
      height: 220,
      scales: { x: { time: false, range: [-0.5, Math.max(0.5, labels.length - 0.5)] } },
      axes: [
        { values: (u, ticks) => ticks.map((t) => (Number.isInteger(t) ? labels[t] ?? "" : "")),
          incrs: [1] },
        {},
      ],
      series: [{ label: "row", value: (u, v) => (v === null ? "" : labels[v] ?? "") }].concat(
        series.map((s, i) => ({
          label: s.label,
          stroke: ["#1f6feb", "#d1242f", "#2da44e"][i % 3],
          fill: bars ? ["#1f6feb55", "#d1242f55", "#2da44e55"][i % 3] : undefined,
          width: 2,
          points: { show: true, size: 6 },
          paths: bars ? uPlot.paths.bars({ size: [0.25], align: i - 1 }) : undefined,
        })),
      ),
    };
    const data = [xs].concat(series.map((s) => s.values));
    el.dataset.series = series.map((s) => s.label).join(",");
    return new uPlot(opts, data, el);
  }

  function drawCharts(doc) {
    for (const p of plots) p.destroy();
    plots = [];
    const rows = doc.rows;
    const labels = rows.map((r) => [r.interval, r.queue, r.agent].filter((x) => x).join(" "));
    if (!rows.length) return;
    if (doc.by === "agent") {
      plots.push(chart(charts.share, "Occupancy and utilisation (%)", labels, [
        { label: "occupancy %", values: rows.map((r) => pct(r.occupancy)) },
        { label: "utilisation %", values: rows.map((r) => pct(r.utilisation)) },
      ], false));
      plots.push(chart(charts.count, "Calls answered", labels, [
        { label: "answered", values: rows.map((r) => r.answered) },
      ], true));
      return;
    }
    plots.push(chart(charts.share, "Service level and abandon rate (%)", labels, [
      { label: "service level %", values: rows.map((r) => pct(r.service_level)) },
      { label: "abandon %", values: rows.map((r) => pct(r.abandon_rate)) },
    ], false));
    plots.push(chart(charts.count, "Calls and agents needed (Erlang C)", labels, [
      { label: "offered", values: rows.map((r) => r.offered) },
      { label: "answered", values: rows.map((r) => r.answered) },
      { label: "agents needed", values: rows.map((r) => r.agents_needed) },
    ], true));
  }

  async function fetchOk(url) {
    const r = await fetch(url, { credentials: "same-origin" });
    if (!r.ok) {
      let reason = `${r.status}`;
      try { reason = (await r.json()).reason || reason; } catch (e) { /* not JSON */ }
      throw new Error(reason);
    }
    return r;
  }

  async function show() {
    const q = new URLSearchParams(new FormData(form));
    csvLink.href = `/api/reports?${q}&format=csv`;
    history.replaceState(null, "", `?${q}`);
    status.textContent = "Loading…";
    try {
      const [csvText, doc] = await Promise.all([
        fetchOk(`/api/reports?${q}&format=csv`).then((r) => r.text()),
        fetchOk(`/api/reports?${q}&format=json`).then((r) => r.json()),
      ]);
      fillTable(parseCsv(csvText));
      drawCharts(doc);
      status.textContent = `${doc.rows.length} row(s), ${doc.from} to ${doc.to} (${doc.time_zone})`;
    } catch (e) {
      fillTable([]);
      drawCharts({ rows: [] });
      status.textContent = `Not shown: ${e.message}`;
    }
  }

  const asked = new URLSearchParams(location.search);
  const today = new Date();
  form.elements.from.value = asked.get("from") || isoDay(today);
  form.elements.to.value = asked.get("to") || isoDay(new Date(today.getTime() + 86400000));
  if (asked.get("by")) form.elements.by.value = asked.get("by");
  form.addEventListener("submit", (ev) => { ev.preventDefault(); show(); });
  show();
})();
