import Hummingbird

/// The dashboard page: one self-contained HTML document (inline CSS, JS and SVG, nothing
/// fetched from elsewhere) that listens to `/api/events` (server-sent events, one status per
/// store read) and redraws; a browser without EventSource polls `/api/status` instead.
///
/// The page writes data only through `textContent` and SVG attributes, never as HTML, so
/// a pipeline title or a reason text cannot inject markup; the Content-Security-Policy
/// header enforces "this origin only" as well.
enum DashboardPage {
    static let headers: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .cacheControl: "no-store",
        .contentSecurityPolicy:
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src data:",
    ]

    static let html = Array(text.utf8)

    private static let text = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Headcount: live</title>
<style>
  :root { --ink:#1d2430; --soft:#5b6576; --line:#e3e7ee; --bg:#f5f7fa; --card:#fff;
          --unique:#2f6fde; --qualified:#138a55; --active:#e08a00; --peak:#b8690a; --sustained:#8a3b12; --warn:#c0392b; --amend:#7a4cc2; }
  * { box-sizing:border-box; }
  body { margin:0; font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif; color:var(--ink); background:var(--bg); }
  header { background:#18202c; color:#fff; padding:14px 28px; display:flex; align-items:center; gap:18px; flex-wrap:wrap; }
  header h1 { font-size:19px; margin:0; font-weight:600; flex:1; min-width:300px; }
  header .sub { color:#aab4c3; font-size:13px; font-weight:400; display:block; }
  .pill { border-radius:999px; padding:4px 12px; font-size:13px; font-weight:600; background:#2c3a4f; color:#cfe0ff; white-space:nowrap; }
  .pill.live::before { content:""; display:inline-block; width:8px; height:8px; border-radius:50%; background:#3ddc84; margin-right:7px; }
  .pill.stale { background:#7a2a21; color:#ffd9d4; }
  main { padding:20px 28px 28px; max-width:1400px; margin:0 auto; }
  .cards { display:grid; grid-template-columns:repeat(5,1fr); gap:14px; }
  .card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px; }
  .card .label { color:var(--soft); font-size:13px; text-transform:uppercase; letter-spacing:.04em; }
  .card .value { font-size:34px; font-weight:650; font-variant-numeric:tabular-nums; margin-top:2px; }
  .card .note { color:var(--soft); font-size:13px; }
  .bar { margin:14px 0; background:var(--card); border:1px solid var(--line); border-radius:10px; padding:12px 16px; display:flex; gap:22px; flex-wrap:wrap; align-items:center; }
  .bar b { font-variant-numeric:tabular-nums; }
  .progress { flex:1; min-width:220px; height:10px; background:#e9edf3; border-radius:5px; overflow:hidden; }
  .progress div { height:100%; background:var(--qualified); width:0; }
  .warning { background:#fdecea; border:1px solid #f3b8b1; color:#7d1d12; border-radius:10px; padding:10px 14px; margin:14px 0; }
  .warning b { color:var(--warn); }
  .waits { background:#eef4fb; border:1px solid #b9d0ea; color:#1d3d5e; border-radius:10px; padding:10px 14px; margin:14px 0; font-size:14px; }
  .waits b { display:block; margin-bottom:4px; }
  .grid { display:grid; grid-template-columns:minmax(0,2.2fr) minmax(280px,1fr); gap:14px; }
  h2 { font-size:14px; text-transform:uppercase; letter-spacing:.05em; color:var(--soft); margin:0 0 8px; font-weight:600; }
  svg text { font-size:12px; fill:var(--soft); }
  .legend { display:flex; gap:16px; flex-wrap:wrap; font-size:13px; color:var(--soft); margin-top:6px; }
  .legend span::before { content:""; display:inline-block; width:14px; height:3px; vertical-align:middle; margin-right:6px; background:var(--c); }
  table { width:100%; border-collapse:collapse; font-size:14px; }
  td { padding:5px 0; border-bottom:1px solid var(--line); vertical-align:top; }
  td:first-child { white-space:nowrap; padding-right:12px; }
  td:last-child { text-align:right; font-variant-numeric:tabular-nums; }
  .mono { font-family:ui-monospace,"SF Mono",Menlo,Consolas,monospace; font-size:12.5px; word-break:break-all; text-align:left !important; }
  .ok { color:var(--qualified); } .bad { color:var(--warn); font-weight:600; }
  .tag { display:none; margin-left:8px; vertical-align:middle; font-size:11px; font-weight:700; letter-spacing:.04em; color:#fff; background:var(--warn); border-radius:4px; padding:2px 6px; }
  .incomplete .tag { display:inline-block; }
  .incomplete .card { border-color:#f3b8b1; }
  #result { white-space:pre-line; }
  .now { margin:14px 0 0; background:#fffaf0; border:1px dashed #e0a100; border-radius:10px; padding:10px 16px; }
  .now .head { display:flex; gap:12px; align-items:baseline; flex-wrap:wrap; }
  .now .head b { color:#8a5a00; letter-spacing:.04em; font-size:12px; }
  .now .nums { display:grid; grid-template-columns:repeat(5,1fr); gap:14px; margin-top:6px; }
  .now .nums span { display:block; color:var(--soft); font-size:12px; text-transform:uppercase; }
  .now .nums i { font-style:normal; font-size:22px; font-weight:600; font-variant-numeric:tabular-nums; color:#6b4a00; }
  .certified { color:var(--qualified); font-size:11px; font-weight:700; letter-spacing:.05em; margin-left:6px; }
  table.lag td:last-child, table.lag td:nth-child(2) { text-align:right; }
  .lagbad { color:var(--warn); font-weight:600; }
  footer { color:var(--soft); font-size:12.5px; margin-top:16px; }
  @media (max-width:900px) { .cards { grid-template-columns:repeat(2,1fr); } .grid { grid-template-columns:1fr; } }
</style>
</head>
<body>
<header>
  <h1><span id="title">Headcount</span><span class="sub" id="window"></span></h1>
  <span class="pill" id="live">connecting…</span>
</header>
<main>
  <h2>Last sealed minute <span class="certified">CERTIFIED · SIGNED</span></h2>
  <div class="cards" id="cards">
    <div class="card"><div class="label">Qualified<span class="tag">INCOMPLETE</span></div><div class="value" id="qualified">–</div><div class="note" id="qualified-note"></div></div>
    <div class="card"><div class="label">Unique<span class="tag">INCOMPLETE</span></div><div class="value" id="unique">–</div><div class="note">present at some time so far</div></div>
    <div class="card"><div class="label">Active<span class="tag">INCOMPLETE</span></div><div class="value" id="active">–</div><div class="note">present during the minute</div></div>
    <div class="card"><div class="label">Peak<span class="tag">INCOMPLETE</span></div><div class="value" id="peak">–</div><div class="note">most at once in the minute</div></div>
    <div class="card"><div class="label">Sustained peak<span class="tag">INCOMPLETE</span></div><div class="value" id="sustained_peak">–</div><div class="note" id="sustained-note">most present through a whole period</div></div>
  </div>
  <div class="now" id="now" hidden>
    <div class="head"><b>PROVISIONAL — NOT YET SEALED</b><span>next to be sealed:</span><span id="now-bucket"></span><span class="note" id="now-why"></span></div>
    <div class="nums">
      <div><span>Qualified</span><i id="now-qualified">–</i></div><div><span>Unique</span><i id="now-unique">–</i></div>
      <div><span>Active</span><i id="now-active">–</i></div><div><span>Peak</span><i id="now-peak">–</i></div>
      <div><span>Sustained peak</span><i id="now-sustained_peak">–</i></div>
    </div>
  </div>
  <div class="bar">
    <span>Last sealed: <b id="bucket">none yet</b></span>
    <span>Sealed <b id="sealed">0</b> of <b id="total">–</b></span>
    <div class="progress"><div id="progress"></div></div>
    <span>Watermark <b id="watermark">–</b></span>
  </div>
  <div class="waits" id="waits" hidden></div>
  <div class="warning" id="warning" hidden></div>
  <div class="grid">
    <div class="card">
      <h2>Sealed snapshots, minute by minute</h2>
      <svg id="chart" width="100%" height="360" role="img" aria-label="per-minute chart of sealed snapshots"></svg>
      <div class="legend">
        <span style="--c:var(--unique)">unique</span><span style="--c:var(--qualified)">qualified</span>
        <span style="--c:var(--active)">active</span><span style="--c:var(--peak)">peak</span><span style="--c:var(--sustained)">sustained peak</span>
        <span style="--c:#f3b8b1">incomplete (events may be missing)</span><span style="--c:var(--amend)">amended by late events</span>
      </div>
    </div>
    <div class="card">
      <h2>Integrity</h2>
      <table>
        <tr><td id="result-label">Result</td><td id="result">–</td></tr>
        <tr><td>Incomplete buckets</td><td id="incomplete">–</td></tr>
        <tr><td>Amendments</td><td id="amendments">–</td></tr>
        <tr><td>Events stored</td><td id="events">–</td></tr>
        <tr><td>Dead letters</td><td id="dead">–</td></tr>
      </table>
      <table id="reasons"></table>
      <h2 style="margin-top:14px">Ingest</h2>
      <table>
        <tr><td>Events accepted</td><td id="accepted">–</td></tr>
        <tr><td>Refused requests</td><td id="refused">–</td></tr>
      </table>
      <table id="refusals"></table>
      <h2 style="margin-top:14px">Kafka partitions</h2>
      <table class="lag" id="partitions"><tr><td>–</td></tr></table>
      <h2 style="margin-top:14px">Chain head</h2>
      <div class="mono" id="head">–</div>
      <h2 style="margin-top:12px">Public key</h2>
      <div class="mono" id="key">–</div>
    </div>
  </div>
  <footer id="footer">Sealed, signed snapshots are certified: a minute is sealed once the watermark has passed its end plus the sustained period. The current minute is provisional until then.</footer>
</main>
<script>
"use strict";
const $ = id => document.getElementById(id);
const fmt = n => (n === undefined || n === null) ? "–" : n.toLocaleString("en-US");
const time = iso => new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
const clock = iso => new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const clockZone = iso => new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" });
const day = iso => new Date(iso).toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric" });
const SVG = "http://www.w3.org/2000/svg";
let latest = null;

// Numbers are shown formatted and kept raw in data-value, for scripts and tests.
function setNumber(id, value) {
  const node = $(id);
  node.textContent = fmt(value);
  if (value === undefined || value === null) delete node.dataset.value; else node.dataset.value = String(value);
}

function row(cells, className) {
  const tr = document.createElement("tr");
  for (const text of cells) { const td = document.createElement("td"); td.textContent = text; tr.append(td); }
  if (className) tr.className = className;
  return tr;
}

function el(name, attributes, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function niceStep(max) {
  const raw = max / 5, power = Math.pow(10, Math.floor(Math.log10(raw || 1)));
  return [1, 2, 2.5, 5, 10].map(f => f * power).find(s => s >= raw) || power;
}

function drawChart(s) {
  const svg = $("chart"), W = svg.clientWidth || 800, H = 360, L = 58, R = 22, T = 12, B = 30;
  svg.replaceChildren();
  const total = s.pipeline.buckets_total, c = s.chart, n = c.unique.length;
  const top = Math.max(10, ...c.unique, ...c.active, s.current ? s.current.unique : 0);
  const step = niceStep(top), ymax = Math.ceil(top / step) * step;
  const x = m => L + (W - L - R) * m / total, y = v => T + (H - T - B) * (1 - v / ymax);
  for (let v = 0; v <= ymax; v += step) {
    svg.append(el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#e3e7ee" }));
    svg.append(el("text", { x: L - 8, y: y(v) + 4, "text-anchor": "end" }, fmt(v)));
  }
  if (n < total) svg.append(el("rect", { x: x(n), y: T, width: x(total) - x(n), height: H - T - B, fill: "#f0f2f6" }));
  if (n < total) svg.append(el("text", { x: (x(n) + x(total)) / 2, y: T + 22, "text-anchor": "middle" }, "not sealed yet"));
  // Runs of consecutive incomplete buckets as one band each: no seams between minutes.
  for (let i = 0; i < c.incomplete.length;) {
    let j = i;
    while (j + 1 < c.incomplete.length && c.incomplete[j + 1] === c.incomplete[j] + 1) j++;
    const from = c.incomplete[i], to = c.incomplete[j] + 1;
    svg.append(el("rect", { x: x(from), y: T, width: Math.max(1, x(to) - x(from)), height: H - T - B, fill: "#fbd5d0" }));
    i = j + 1;
  }
  const every = [5, 10, 15, 30, 60, 120, 240, 480].find(e => (W - L - R) / (total / e) >= 60) || 960;
  for (let m = 0; m <= total; m += every) {
    svg.append(el("line", { x1: x(m), x2: x(m), y1: H - B, y2: H - B + 4, stroke: "#9aa3b2" }));
    const at = new Date(Date.parse(s.pipeline.window_start) + m * s.pipeline.bucket_seconds * 1000).toISOString();
    svg.append(el("text", { x: x(m), y: H - 10, "text-anchor": "middle" }, clock(at).slice(0, 5)));
  }
  svg.append(el("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: "#9aa3b2" }));
  const series = [["unique", "var(--unique)", 2.5, ""], ["qualified", "var(--qualified)", 2.5, ""],
                  ["active", "var(--active)", 2, ""], ["peak", "var(--peak)", 1.5, "4 3"], ["sustained_peak", "var(--sustained)", 1.5, ""]];
  for (const [key, color, width, dash] of series) {
    if (!n) break;
    // Each sealed bucket is drawn across its minute, at the value of its end.
    const points = c[key].map((v, m) => `${x(m).toFixed(1)},${y(v).toFixed(1)} ${x(m + 1).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    svg.append(el("polyline", { points, fill: "none", stroke: color, "stroke-width": width, "stroke-dasharray": dash, "stroke-linejoin": "round" }));
  }
  for (const m of c.amended) svg.append(el("path", { d: `M${x(m + 0.5) - 5},${T} h10 l-5,8 z`, fill: "var(--amend)" }));
  // The current minute, provisional: hollow markers, never part of the certified lines.
  if (s.current) {
    const m = s.current.bucket + 0.5;
    for (const [key, color] of [["unique", "var(--unique)"], ["active", "var(--active)"], ["peak", "var(--peak)"]])
      svg.append(el("circle", { cx: x(m), cy: y(Math.min(ymax, s.current[key])), r: 4, fill: "#fff", stroke: color, "stroke-width": 2 }));
    svg.append(el("text", { x: Math.min(x(m) + 8, W - R - 70), y: y(Math.min(ymax, s.current.unique)) - 8 }, "provisional"));
  }
}

function render(s) {
  const p = s.pipeline;
  document.title = `Headcount: ${p.title}`;
  $("title").textContent = p.title;
  $("window").textContent = `${p.id} · ${day(p.window_start)}, ${time(p.window_start)} – ${time(p.window_end)} · one snapshot per ${p.bucket_seconds} s`;
  const last = s.last;
  for (const key of ["qualified", "unique", "active", "peak", "sustained_peak"]) setNumber(key, last ? last[key] : null);
  $("bucket").dataset.value = last ? String(last.bucket) : "";
  const now = s.current;
  $("now").hidden = !now;
  if (now) {
    $("now-bucket").textContent = `minute ${now.bucket + 1}, ${time(now.bucket_start)} – ${time(now.bucket_end)}`;
    $("now-bucket").dataset.value = String(now.bucket);
    $("now-why").textContent = "as stored so far; sealed once the watermark passes its end" + (s.watermark ? ` (watermark ${clock(s.watermark)})` : "");
    for (const key of ["qualified", "unique", "active", "peak", "sustained_peak"]) setNumber(`now-${key}`, now[key]);
  }
  const g = s.ingest;
  setNumber("accepted", g ? g.events_accepted : null);
  const refusals = g ? Object.entries(g.refusals_by_reason) : [];
  $("refused").textContent = !g ? (s.ingest_error || "not connected to ingest") : refusals.length ? fmt(refusals.reduce((a, [, n]) => a + n, 0)) : "none";
  $("refusals").replaceChildren(...refusals.sort().map(([reason, count]) => row([`  · ${reason.replaceAll("_", " ")}`, fmt(count)])));
  const parts = s.partitions || [];
  $("partitions").replaceChildren(row(["partition", "stored offset", "lag"]),
    ...parts.map(p => row([String(p.partition), fmt(p.stored_next_offset), p.lag === null || p.lag === undefined ? "–" : fmt(p.lag)], p.lag > 1000 ? "lagbad" : "")));
  if (s.lag_error) $("partitions").append(row([s.lag_error]));
  $("sustained-note").textContent = `most present through a whole ${p.sustained_peak_milliseconds / 1000} s`;
  $("qualified-note").textContent = p.minimum_presence_seconds > 0 ? `present at least ${Math.round(p.minimum_presence_seconds / 60)} min` : "present at some time";
  $("bucket").textContent = last ? `minute ${last.bucket + 1}, ${time(last.bucket_start)} – ${time(last.bucket_end)}` : "none yet";
  // An incomplete bucket's numbers never stand alone: every card carries the flag.
  $("cards").className = last && last.incomplete ? "cards incomplete" : "cards";
  setNumber("sealed", s.sealed_buckets);
  $("total").textContent = fmt(p.buckets_total);
  $("progress").style.width = `${100 * s.sealed_buckets / p.buckets_total}%`;
  // A replayed or finished event's watermark lies past the window: say so rather than
  // print a time of another day.
  const past = s.watermark && Date.parse(s.watermark) >= Date.parse(p.window_end);
  $("watermark").textContent = !s.watermark ? "none yet" : past ? "past the window's end" : clockZone(s.watermark);
  $("watermark").title = s.watermark || "no reporter round has found every partition with an event time yet";
  // Why the next minute is not sealed yet, per partition that holds the watermark back.
  const waits = s.sealing_waits_for || [];
  $("waits").hidden = !waits.length;
  $("waits").replaceChildren(...[`Sealing waits for ${waits.length} partition${waits.length === 1 ? "" : "s"}:`]
    .concat(waits.slice(0, 6), waits.length > 6 ? [`… and ${waits.length - 6} more`] : [])
    .map((text, n) => { const d = document.createElement(n ? "div" : "b"); d.textContent = text; return d; }));
  const r = s.result, i = s.integrity;
  $("result-label").textContent = r && r.final ? "Result (final)" : "Result so far";
  $("result").textContent = r ? `${fmt(r.qualified)} qualified\npeak ${fmt(r.peak)}\nsustained peak ${fmt(r.sustained_peak)}` + (r.incomplete ? "\nincomplete" : "") : "–";
  $("result").className = r && r.incomplete ? "bad" : "";
  $("incomplete").textContent = i.incomplete_buckets ? `${fmt(i.incomplete_buckets)} of ${fmt(s.sealed_buckets)}` : "none";
  $("incomplete").className = i.incomplete_buckets ? "bad" : "ok";
  $("amendments").textContent = i.amendments ? `${fmt(i.amendments)} (${fmt(i.amended_buckets)} buckets)` : "none";
  const t = s.totals;
  $("events").textContent = t ? fmt(t.events_stored) : "–";
  $("dead").textContent = t ? (t.dead_letters ? fmt(t.dead_letters) : "none") : "–";
  $("reasons").replaceChildren(...Object.entries(t ? t.dead_letters_by_reason : {}).sort().map(([reason, count]) => {
    const row = document.createElement("tr"), a = document.createElement("td"), b = document.createElement("td");
    a.textContent = `  · ${reason.replaceAll("_", " ")}`; a.style.paddingLeft = "12px"; b.textContent = fmt(count);
    row.append(a, b); return row;
  }));
  $("head").textContent = i.head_hash || "nothing sealed yet";
  $("head").dataset.value = i.head_hash || "";
  $("key").textContent = i.public_key || "stored with the first seal";
  const warnings = [];
  if (i.retention_gaps) warnings.push(`Retention gaps: ${i.retention_gaps}. Every bucket is flagged incomplete in the certificate.`);
  else if (i.incomplete_buckets) warnings.push(`${i.incomplete_buckets} sealed buckets are flagged incomplete: events may be missing from them.`);
  if (s.error) warnings.push(s.error);
  $("warning").hidden = !warnings.length;
  $("warning").replaceChildren(...warnings.map(text => { const d = document.createElement("div"); const b = document.createElement("b"); b.textContent = "⚠ "; d.append(b, text); return d; }));
  $("footer").textContent = `Sealed, signed snapshots are certified: a minute is sealed once the watermark has passed its end plus ${p.sustained_peak_milliseconds / 1000} s (the sustained period); the current minute is provisional until then. Numbers read at ${clock(s.read_at)}` +
    (t ? `; events counted at ${clock(t.read_at)}.` : ".");
  drawChart(s);
}

function show(status, connected) {
  if (status.pipeline) { latest = status; render(status); }
  $("live").className = status.error || !connected ? "pill stale" : "pill live";
  $("live").textContent = status.error ? "database unreachable" : connected ? "live" : "connection lost, retrying";
}

// Pushed by the server: one message per read of the store, the same for every viewer.
function listen() {
  const source = new EventSource("api/events");
  source.addEventListener("status", message => show(JSON.parse(message.data), true));
  source.onerror = () => { if (latest) show(latest, false); else { $("live").className = "pill stale"; $("live").textContent = "connection lost, retrying"; } };
}

async function poll() {
  try {
    const response = await fetch("api/status", { cache: "no-store" });
    show(await response.json(), true);
  } catch (e) {
    $("live").className = "pill stale";
    $("live").textContent = "connection lost, retrying";
  }
  setTimeout(poll, 1000);
}
window.addEventListener("resize", () => latest && drawChart(latest));
if (window.EventSource) listen(); else poll();
</script>
</body>
</html>
"""#
}
