// The kafkaworker status page: polls /api/status every second and renders
// it; the buttons post to the admin API. No libraries, nothing fetched from
// elsewhere (the server's Content-Security-Policy forbids it anyway).
"use strict";

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const num = (n) => (n < 0 ? "–" : Number(n).toLocaleString("en-US"));
const rate = (n) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1));
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
  gate(["procs", "[data-act=procs]"], caps.maxProcCount, "this consumer cannot change MaxProcCount at run time yet");
  gate(["rate", "[data-act=rate]"], caps.maxRecordsPerSecond, "this consumer has no rate limit yet");
  gate(["rel-topic", "rel-partition", "rel-offset", "rel-action", "[data-act=release]"], caps.release, "this consumer has no blocking failure policy yet");
}

function renderRows(s) {
  const only = $("problems-only").checked;
  const limit = s.windowLimit;
  let html = "";
  let shown = 0;
  for (const p of s.partitions) {
    if (only && !p.stalled && !p.paused) continue;
    shown++;
    const tp = p.topic + "/" + p.partition;
    let state = "";
    if (p.stalled) state += `<span class="badge stalled" title="${esc(p.stalled)} for ${age(p.stalledMs)}">stalled</span> `;
    if (p.held) state += `<span class="badge held" title="paused by an operator">paused by operator</span> `;
    else if (p.paused) state += `<span class="badge paused" title="the window is full">paused</span> `;
    if (!state) state = `<span class="muted">running</span>`;
    const cls = p.stalled ? "stalled" : p.paused ? "paused" : "";
    const act = p.held ? "resume" : "pause";
    html += `<tr class="${cls}" data-tp="${esc(tp)}">` +
      `<td data-label="Partition">${esc(tp)}</td>` +
      `<td data-label="Committed">${num(p.committed)}</td>` +
      `<td data-label="Lag">${num(p.lag)}</td>` +
      `<td data-label="Window"><span><meter min="0" max="${limit}" low="${limit / 2}" high="${limit * 0.9}" optimum="0" value="${Math.min(p.span, limit)}"></meter><span class="span">${num(p.span)} / ${num(limit)}</span></span></td>` +
      `<td data-label="In flight">${num(p.inFlight)}</td>` +
      `<td data-label="Oldest call">${age(p.oldestMs)}</td>` +
      `<td data-label="State" class="state">${state}</td>` +
      `<td data-label=""><button type="button" data-row-act="${act}" data-topic="${esc(p.topic)}" data-partition="${p.partition}"${s.mutations === "off" ? " disabled" : ""}>${act === "pause" ? "Pause" : "Resume"}</button></td>` +
      `</tr>`;
  }
  $("rows").innerHTML = html;
  $("partition-count").textContent = only ? `(${shown} of ${s.partitions.length})` : `(${s.partitions.length})`;
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
