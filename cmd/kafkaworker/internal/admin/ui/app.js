// The kafkaworker status page: polls /api/status every second and renders
// it; the buttons post to the admin API. No libraries, nothing fetched from
// elsewhere (the server's Content-Security-Policy forbids it anyway).
"use strict";

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
// One formatter: toLocaleString makes one per call, which 5,000 cells a
// second make felt.
const numFormat = new Intl.NumberFormat("en-US");
const num = (n) => (n < 0 ? "–" : numFormat.format(n));
const rate = (n) => (n >= 100 ? numFormat.format(Math.round(n)) : n.toFixed(1));
const age = (ms) => (ms <= 0 ? "–" : ms < 1000 ? ms + " ms" : ms < 120000 ? (ms / 1000).toFixed(1) + " s" : Math.round(ms / 60000) + " min");
const clock = (ms) => new Date(ms).toLocaleTimeString();

let last = null;
let busy = false;

async function refresh() {
  if (busy) return;
  busy = true;
  try {
    const r = await fetch("/api/status", { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    last = await r.json();
    render(last);
  } catch (e) {
    $("updated").textContent = "not updated: " + e.message;
  } finally {
    busy = false;
  }
}

function render(s) {
  $("group").textContent = "group " + s.group + " · " + s.topics.join(", ");
  const rd = $("readiness");
  rd.textContent = s.running ? s.readiness.replace(/_/g, " ") : "not running";
  rd.className = "badge " + s.readiness;
  $("updated").textContent = "updated " + clock(s.now);
  renderSummary(s);
  renderChart(s);
  renderActions(s);
  renderRows(s);
  renderRebalances(s);
  const cfg = JSON.stringify(s.config, null, 2);
  if ($("config").textContent !== cfg) $("config").textContent = cfg;
  if (!document.documentElement.dataset.ready) {
    // Measured once the page is laid out, as a person sees it: reading
    // offsetHeight makes the browser lay out now what it would lay out
    // before painting anyway.
    void document.body.offsetHeight;
    window.kwFirstRenderMs = performance.now();
    document.documentElement.dataset.ready = "1";
  }
}

function renderSummary(s) {
  const h = s.history;
  const latest = h.length ? h[h.length - 1] : { processed: 0, errors: 0 };
  let done = 0, errs = 0;
  for (const p of h) { done += p.processed; errs += p.errors; }
  const errRate = done + errs > 0 ? (100 * errs) / (done + errs) : 0;
  const stalled = s.partitions.filter((p) => p.stalled).length;
  const paused = s.partitions.filter((p) => p.paused).length;
  const cards = [
    ["Partitions", num(s.partitions.length)],
    ["Stalled", num(stalled), stalled > 0],
    ["Paused", num(paused) + (s.pausedAll ? " (all held)" : "")],
    ["In flight", num(s.totals.inFlight) + " / peak " + num(s.totals.peakInFlight)],
    ["Records/s", rate(latest.processed)],
    ["Error rate", errRate.toFixed(2) + " %", errRate > 0],
    ["Processed", num(s.totals.processed)],
    ["Buffered", num(s.totals.buffered)],
    ["Dead-lettered", num(s.totals.deadLettered)],
    ["Commits", num(s.totals.commits) + (s.totals.commitErrors ? " (" + num(s.totals.commitErrors) + " failed)" : "")],
  ];
  $("summary").innerHTML = cards.map(([k, v, bad]) => `<div class="card${bad ? " bad" : ""}">${esc(k)}<b>${esc(v)}</b></div>`).join("");
}

function renderChart(s) {
  const h = s.history;
  const max = Math.max(1, ...h.map((p) => Math.max(p.processed, p.errors)));
  const span = Math.max(h.length, 30); // the server keeps 150 samples
  const path = (key) => h.map((p, i) => (i ? "L" : "M") + ((600 * (span - h.length + i)) / (span - 1)).toFixed(1) + " " + (115 - (110 * p[key]) / max).toFixed(1)).join(" ");
  $("chart-processed").setAttribute("d", path("processed"));
  $("chart-errors").setAttribute("d", path("errors"));
  $("chart-scale").textContent = "· top " + rate(max) + "/s · one point per " + s.sampleEveryMs / 1000 + " s";
}

function renderActions(s) {
  const modes = {
    token: "Actions need the admin token.",
    "open (loopback)": "Actions are open: the admin server listens on loopback only.",
    off: "Actions are off (KafkaWorker:AdminReadOnly).",
  };
  $("mutations").textContent = modes[s.mutations] || "";
  $("token-row").hidden = s.mutations !== "token";
  const off = s.mutations === "off";
  for (const b of document.querySelectorAll("[data-act]")) b.disabled = off;
  const caps = s.capabilities || {};
  const gate = (ids, ok, why) => {
    for (const id of ids) {
      const el = id.startsWith("[") ? document.querySelector(id) : $(id);
      el.disabled = off || !ok;
      el.title = ok ? "" : why;
    }
  };
  gate(["procs", "[data-act=procs]"], caps.maxProcCount, "this consumer cannot change MaxProcCount at run time");
  gate(["rate", "[data-act=rate]"], caps.maxRecordsPerSecond, "this consumer cannot change its rate limit at run time");
  $("procs").placeholder = "now " + num(s.totals.concurrencyLimit);
  $("rate").placeholder = s.totals.maxRecordsPerSecond > 0 ? "now " + s.totals.maxRecordsPerSecond : "now none";
  gate(["rel-topic", "rel-partition", "rel-offset", "rel-action", "[data-act=release]"], caps.release, "this consumer cannot release blocked records");
}

// The partition table. Rows are built once per assignment and then updated
// in place, each cell written only when its text changes: rewriting 1,000
// rows each second (innerHTML) cost the browser a layout of the whole table
// every second. The rows sit in tbody chunks that the browser lays out and
// paints only near the screen (content-visibility, in style.css); the first
// chunk is built with the first render, the others one per task after it,
// so that the page shows before 1,000 rows exist.
const chunkRows = 50;
let rowsKey = ""; // the assignment the rows are built for
let rows = []; // one per partition, in the order of s.partitions; the first `built` exist
let built = 0;
let buildTimer = 0; // the task that builds the next chunk
let rowByTP = new Map(); // "topic/partition" → row, to keep rows across rebalances

// protoRow is cloned for each partition; its cells carry data-label for
// the phone's layout.
const protoRow = (() => {
  const tr = document.createElement("tr");
  tr.setAttribute("role", "row");
  for (const label of ["Partition", "Committed", "Lag", "Window", "In flight", "Oldest call", "State", ""]) {
    const td = document.createElement("td");
    td.setAttribute("role", "cell");
    td.dataset.label = label;
    tr.appendChild(td);
  }
  tr.children[3].innerHTML = '<span class="win"><span class="bar"><i></i></span><span class="span"></span></span>';
  tr.children[6].className = "state";
  tr.children[7].innerHTML = '<button type="button"></button>';
  return tr;
})();

function newRow(p) {
  const tr = protoRow.cloneNode(true);
  const c = tr.children;
  const tp = p.topic + "/" + p.partition;
  tr.dataset.tp = tp;
  c[0].textContent = tp;
  const button = c[7].firstChild;
  button.dataset.topic = p.topic;
  button.dataset.partition = p.partition;
  return {
    tr, button, committed: c[1], lag: c[2], fill: c[3].querySelector("i"), span: c[3].querySelector(".span"),
    inFlight: c[4], oldest: c[5], state: c[6], v: {},
  };
}

// put writes the text of value into el when value differs from what the
// row last had: most cells of most rows do not change from one second to
// the next, and neither formatting nor the DOM is touched for them.
function put(r, name, el, value, text) {
  if (r.v[name] !== value) {
    r.v[name] = value;
    el.textContent = text(value);
  }
}

function stateHTML(p) {
  let state = "";
  if (p.stalled) state += `<span class="badge stalled" title="${esc(p.stalled)} for ${age(p.stalledMs)}">stalled</span> `;
  if (p.held) state += `<span class="badge held" title="paused by an operator">paused by operator</span> `;
  else if (p.paused) state += `<span class="badge paused" title="the window is full">paused</span> `;
  return state || `<span class="muted">running</span>`;
}

// updateRow brings a row up to date with p.
function updateRow(r, p, limit, off, only) {
  const span = p.span || 0;
  put(r, "committed", r.committed, p.committed, num);
  put(r, "lag", r.lag, p.lag, num);
  put(r, "span", r.span, span + "/" + limit, () => num(span) + " / " + num(limit));
  put(r, "inFlight", r.inFlight, p.inFlight || 0, num);
  put(r, "oldest", r.oldest, p.oldestMs || 0, age);
  const frac = Math.min(span / limit, 1);
  const width = (100 * frac).toFixed(1) + "%";
  if (r.v.width !== width) {
    r.v.width = width;
    r.fill.style.width = width; // CSSOM: allowed where the CSP forbids style attributes
    r.fill.className = frac >= 0.9 ? "bad" : frac >= 0.5 ? "warn" : "";
  }
  const state = (p.stalled ? p.stalled + "\u0000" + age(p.stalledMs) : "") + (p.held ? "\u0000held" : p.paused ? "\u0000paused" : "");
  if (r.v.state !== state) {
    r.v.state = state;
    r.state.innerHTML = stateHTML(p);
    r.tr.className = p.stalled ? "stalled" : p.paused ? "paused" : "";
  }
  const act = p.held ? "resume" : "pause";
  if (r.v.act !== act) {
    r.v.act = act;
    r.button.dataset.rowAct = act;
    r.button.textContent = act === "pause" ? "Pause" : "Resume";
  }
  if (r.button.disabled !== off) r.button.disabled = off;
  const hide = only && !p.stalled && !p.paused;
  if (r.tr.hidden !== hide) r.tr.hidden = hide;
}

// startRows starts the rows over for a new assignment: the first chunk at
// once, the others by buildChunk's tasks.
function startRows(ps, key) {
  clearTimeout(buildTimer);
  for (const body of $("partitions").querySelectorAll("tbody")) body.remove();
  const keep = rowByTP;
  rowByTP = new Map();
  rows = ps.map((p) => {
    const tp = p.topic + "/" + p.partition;
    const r = keep.get(tp) || null; // null: made when its chunk is built
    if (r) rowByTP.set(tp, r);
    return r;
  });
  rowsKey = key;
  built = 0;
  buildChunk(false);
}

// buildChunk appends the next chunkRows rows, brought up to date with the
// latest status, and schedules the chunk after it.
function buildChunk(update = true) {
  const body = document.createElement("tbody");
  body.setAttribute("role", "rowgroup");
  const ps = last.partitions;
  const end = Math.min(built + chunkRows, rows.length);
  for (let i = built; i < end; i++) {
    if (!rows[i]) {
      rows[i] = newRow(ps[i]);
      rowByTP.set(ps[i].topic + "/" + ps[i].partition, rows[i]);
    }
    body.appendChild(rows[i].tr);
  }
  const from = built;
  built = end;
  if (update) updateRows(last, from, end);
  $("partitions").appendChild(body);
  if (built < rows.length) buildTimer = setTimeout(buildChunk, 0);
  else window.kwAllRowsMs = window.kwAllRowsMs || performance.now();
}

function updateRows(s, from, to) {
  const only = $("problems-only").checked;
  const off = s.mutations === "off";
  for (let i = from; i < to; i++) updateRow(rows[i], s.partitions[i], s.windowLimit, off, only);
}

function renderRows(s) {
  const only = $("problems-only").checked;
  const ps = s.partitions;
  let key = "";
  for (const p of ps) key += p.topic + "/" + p.partition + "\n";
  if (key !== rowsKey) startRows(ps, key);
  updateRows(s, 0, built);
  // Chunks whose rows are all hidden would keep their estimated height.
  $("partitions").classList.toggle("filtered", only);
  const shown = only ? ps.filter((p) => p.stalled || p.paused).length : ps.length;
  $("partition-count").textContent = only ? `(${shown} of ${ps.length})` : `(${ps.length})`;
}

function renderRebalances(s) {
  const items = s.rebalances.slice().reverse().map((r) => {
    const parts = [];
    if (r.gained && r.gained.length) parts.push("gained " + r.gained.join(", "));
    if (r.released && r.released.length) parts.push((r.lost ? "lost or revoked " : "revoked ") + r.released.join(", "));
    return `<li>${esc(clock(r.at))}: ${esc(parts.join("; "))} → owns ${r.owned}</li>`;
  });
  $("rebalances").innerHTML = items.length ? items.join("") : "<li>none since this server started</li>";
}

async function post(path, body) {
  const headers = { "Content-Type": "application/json" };
  const token = $("token").value || sessionStorage.getItem("kwToken") || "";
  if (token) {
    headers.Authorization = "Bearer " + token;
    sessionStorage.setItem("kwToken", token);
  }
  const out = $("result");
  try {
    const r = await fetch(path, { method: "POST", headers, body: JSON.stringify(body || {}) });
    const j = await r.json().catch(() => ({}));
    out.className = r.ok ? "muted" : "error";
    out.textContent = r.ok ? `${path.slice(5)}: done at ${new Date().toLocaleTimeString()}` : `${path.slice(5)}: ${r.status} ${j.error || ""}`;
  } catch (e) {
    out.className = "error";
    out.textContent = path + ": " + e.message;
  }
  refresh();
}

document.addEventListener("click", (ev) => {
  const b = ev.target.closest("button");
  if (!b) return;
  const act = b.dataset.act;
  const row = b.dataset.rowAct;
  if (row) {
    post("/api/" + row, { partitions: [{ Topic: b.dataset.topic, Partition: Number(b.dataset.partition) }] });
  } else if (act === "pause-all") post("/api/pause");
  else if (act === "resume-all") post("/api/resume");
  else if (act === "commit") post("/api/commit");
  else if (act === "procs") post("/api/max-proc-count", { value: Number($("procs").value) });
  else if (act === "rate") post("/api/max-records-per-second", { value: Number($("rate").value) });
  else if (act === "release") post("/api/release", {
    topic: $("rel-topic").value, partition: Number($("rel-partition").value),
    offset: Number($("rel-offset").value), action: $("rel-action").value,
  });
});
$("problems-only").addEventListener("change", () => last && renderRows(last));
const saved = sessionStorage.getItem("kwToken");
if (saved) $("token").value = saved;
refresh();
setInterval(refresh, 1000);
