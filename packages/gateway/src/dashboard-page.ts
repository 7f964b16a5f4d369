/**
 * The dashboard: one self-contained page (inline CSS and JS, SVG charts, no build step, nothing fetched from the
 * internet). It reads the live event feed on /ws — with `?api_key=` passed on when the page was opened with one —
 * and draws latency p50/p95 over time, fallback rate, provider availability, tokens, the last requests with who
 * served them, evolution scores and other live events; and the runs reported to it (`RunReporter`: an agent's
 * steps, tool calls and reminders, an evolution's generations, scores and bandit arms), from /api/runs and live.
 */
export const dashboardPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Unity gateway</title>
<style>
  :root { --bg:#0f1419; --panel:#171d24; --line:#2a323c; --text:#d7dde4; --dim:#8593a3; --ok:#3fb950; --bad:#f85149; --warn:#d29922; --a:#58a6ff; --b:#bc8cff; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; align-items:center; gap:16px; padding:12px 20px; border-bottom:1px solid var(--line); }
  header h1 { font-size:18px; margin:0; }
  #status { color:var(--dim); }
  #status.live { color:var(--ok); }
  main { display:grid; grid-template-columns:repeat(auto-fit, minmax(420px, 1fr)); gap:16px; padding:16px 20px; }
  section { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px 14px; min-width:0; }
  section.wide { grid-column:1 / -1; }
  h2 { font-size:13px; text-transform:uppercase; letter-spacing:.05em; color:var(--dim); margin:0 0 8px; }
  .big { font-size:26px; font-weight:600; }
  .stats { display:flex; gap:28px; flex-wrap:wrap; }
  .stats div span { display:block; color:var(--dim); font-size:12px; }
  svg { width:100%; height:160px; display:block; }
  svg text { fill:var(--dim); font-size:10px; }
  table { width:100%; border-collapse:collapse; font-size:13px; }
  th, td { text-align:left; padding:4px 6px; border-bottom:1px solid var(--line); white-space:nowrap; overflow:hidden; text-overflow:ellipsis; max-width:280px; }
  th { color:var(--dim); font-weight:500; }
  .ok { color:var(--ok); } .bad { color:var(--bad); } .warn { color:var(--warn); }
  .legend span { margin-right:12px; font-size:12px; } .legend i { display:inline-block; width:10px; height:3px; margin-right:4px; vertical-align:middle; }
  #events { font:12px/1.5 ui-monospace, monospace; max-height:220px; overflow:auto; color:var(--dim); }
  #runs .run { border-top:1px solid var(--line); padding:8px 0; } #runs .run:first-child { border-top:0; }
  #runs .run-head { display:flex; gap:12px; flex-wrap:wrap; align-items:baseline; } #runs .dim { color:var(--dim); font-size:12px; }
  #runs .run-events { font:12px/1.5 ui-monospace, monospace; color:var(--dim); } #runs table { max-width:520px; margin:4px 0; }
  #runs svg { height:48px; max-width:520px; }
  #alerts { margin:12px 20px 0; padding:10px 14px; border:1px solid var(--bad); border-radius:8px; background:#2d1214; }
  #alerts h2 { color:var(--bad); margin-bottom:4px; } #alerts div { margin:2px 0; } #alerts .since { color:var(--dim); font-size:12px; }
</style>
</head>
<body>
<header><h1>Unity gateway</h1><span id="status">connecting…</span></header>
<section id="alerts" role="alert" hidden><h2>Active alerts</h2><div id="alerts-list"></div></section>
<main>
  <section>
    <h2>Traffic</h2>
    <div class="stats">
      <div><span>requests</span><b class="big" id="stat-requests">0</b></div>
      <div><span>errors</span><b class="big" id="stat-errors">0</b></div>
      <div><span>fallback rate</span><b class="big" id="stat-fallback">0%</b></div>
      <div><span>p50 / p95 latency</span><b class="big" id="stat-latency">–</b></div>
    </div>
  </section>
  <section>
    <h2>Tokens</h2>
    <div class="stats" id="tokens"><div><span>total</span><b class="big" id="stat-tokens">0</b></div></div>
  </section>
  <section>
    <h2>Latency over time (ms)</h2>
    <div class="legend"><span><i style="background:var(--a)"></i>p50</span><span><i style="background:var(--b)"></i>p95</span></div>
    <svg id="latency-chart" viewBox="0 0 600 160" preserveAspectRatio="none"></svg>
  </section>
  <section>
    <h2>Fallback rate over time</h2>
    <svg id="fallback-chart" viewBox="0 0 600 160" preserveAspectRatio="none"></svg>
  </section>
  <section>
    <h2>Provider availability</h2>
    <table id="providers"><thead><tr><th>provider</th><th>state</th><th>attempts ok</th><th>last</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Evolution scores</h2>
    <svg id="evolution-chart" viewBox="0 0 600 160" preserveAspectRatio="none"></svg>
    <div id="evolution-note" style="color:var(--dim);font-size:12px">no evolution run reported yet</div>
  </section>
  <section class="wide">
    <h2>Spend by key</h2>
    <table id="spend"><thead><tr><th>key</th><th>name</th><th>requests</th><th>tokens</th><th>cost</th></tr></thead><tbody></tbody></table>
    <div id="spend-note" style="color:var(--dim);font-size:12px"></div>
  </section>
  <section class="wide" id="runs-panel">
    <h2>Runs</h2>
    <div id="runs"></div>
    <div id="runs-note" style="color:var(--dim);font-size:12px">no run reported yet: unity run --report URL, unity evolve --report URL</div>
  </section>
  <section class="wide">
    <h2>Last requests</h2>
    <table id="requests"><thead><tr><th>time</th><th>endpoint</th><th>model asked</th><th>served by</th><th>status</th><th>ms</th><th>first token</th><th>tokens</th><th>attempts</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="wide">
    <h2>Live events</h2>
    <div id="events"></div>
  </section>
</main>
<script>
(function () {
  'use strict';
  var BUCKET_MS = 5000, MAX_BUCKETS = 60, MAX_ROWS = 25;
  var state = { requests: 0, errors: 0, fallbacks: 0, latencies: [], buckets: [], providers: {}, tokens: {}, evolution: [], rows: [] };

  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
  function pct(values, p) {
    if (!values.length) return NaN;
    var s = values.slice().sort(function (a, b) { return a - b; });
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p / 100 * s.length) - 1))];
  }
  function fmt(ms) { return isNaN(ms) ? '–' : ms < 10 ? ms.toFixed(1) : String(Math.round(ms)); }
  function provider(name) {
    if (!state.providers[name]) state.providers[name] = { state: 'unknown', ok: 0, total: 0, last: 0 };
    return state.providers[name];
  }
  function bucketFor(ts) {
    var start = Math.floor(ts / BUCKET_MS) * BUCKET_MS, last = state.buckets[state.buckets.length - 1];
    if (last && last.start === start) return last;
    var b = { start: start, ms: [], requests: 0, fallbacks: 0 };
    state.buckets.push(b);
    state.buckets.sort(function (x, y) { return x.start - y.start; });
    while (state.buckets.length > MAX_BUCKETS) state.buckets.shift();
    return b;
  }

  function onRequest(e) {
    state.requests++;
    var failed = e.status >= 400 || !!e.error;
    if (failed) state.errors++;
    if (e.fallback) state.fallbacks++;
    if (e.status !== 499) { state.latencies.push(e.ms); if (state.latencies.length > 2000) state.latencies.shift(); }
    var b = bucketFor(e.ts); b.requests++; if (e.fallback) b.fallbacks++; if (e.status !== 499) b.ms.push(e.ms);
    (e.attempts || []).forEach(function (a) {
      var p = provider(a.provider); p.total++; if (a.ok) p.ok++; p.last = e.ts;
      if (p.state === 'unknown' || p.state === 'available' || p.state === 'failing') p.state = a.ok ? 'available' : 'failing';
    });
    if (e.usage && e.provider) {
      var t = state.tokens[e.provider] || (state.tokens[e.provider] = { input: 0, output: 0 });
      t.input += e.usage.inputTokens || 0; t.output += e.usage.outputTokens || 0;
    }
    state.rows.unshift(e); if (state.rows.length > MAX_ROWS) state.rows.pop();
  }

  function onEvent(e) {
    var type = String(e.type || '');
    if (type.indexOf('run.') === 0) onRunEvent(e);
    // Clients may publish client.* events; only the server's own events (which clients cannot send) change the
    // traffic figures and a provider's state. Client events still show in the live feed and the evolution chart.
    var fromServer = type.indexOf('client.') !== 0;
    if (fromServer && type === 'request.end') return onRequest(e);
    if (type === 'request.start') return;
    if (fromServer && type === 'keys.settled') return scheduleSpend();
    if (fromServer && type.indexOf('alert.') === 0) scheduleAlerts();
    if (fromServer && type === 'router.breaker' && e.provider) {
      provider(String(e.provider)).state = String(e.to || 'changed');
      provider(String(e.provider)).last = e.ts;
    } else if (fromServer && type === 'health.change' && (e.provider || e.check)) {
      var p = provider(String(e.provider || e.check));
      p.state = String(e.status || 'checked'); p.last = e.ts;
    }
    if (/generation|evolution|textgrad/i.test(type)) {
      var candidates = [e.score, e.bestScore, e.baselineScore, e.best && e.best.score, e.candidate && e.candidate.score, e.line && e.line.score];
      var score = candidates.filter(function (v) { return typeof v === 'number'; })[0];
      if (score !== undefined) { state.evolution.push({ ts: e.ts, score: score, run: e.runId || e.run || '' }); if (state.evolution.length > 200) state.evolution.shift(); }
    }
    var line = el('div', new Date(e.ts).toLocaleTimeString() + '  ' + type + '  ' + JSON.stringify(e, function (k, v) { return k === 'type' || k === 'ts' ? undefined : v; }).slice(0, 240));
    var box = $('events'); box.insertBefore(line, box.firstChild); while (box.childNodes.length > 100) box.removeChild(box.lastChild);
  }

  function line(points, color, maxY, w, h) {
    if (!points.length) return '';
    var d = points.map(function (p, i) {
      var x = points.length === 1 ? w / 2 : (i / (points.length - 1)) * (w - 40) + 30;
      var y = h - 16 - (p / (maxY || 1)) * (h - 30);
      return (i ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1);
    }).join(' ');
    return '<path d="' + d + '" fill="none" stroke="' + color + '" stroke-width="2"/>' +
      (points.length === 1 ? '<circle cx="' + (w / 2) + '" cy="' + (h - 16 - (points[0] / (maxY || 1)) * (h - 30)).toFixed(1) + '" r="3" fill="' + color + '"/>' : '');
  }
  function axes(maxY, label, w, h) {
    return '<line x1="30" y1="' + (h - 16) + '" x2="' + w + '" y2="' + (h - 16) + '" stroke="#2a323c"/>' +
      '<text x="2" y="14">' + label(maxY) + '</text><text x="2" y="' + (h - 18) + '">0</text>';
  }
  function chart(id, series, label) {
    var w = 600, h = 160, maxY = 0;
    series.forEach(function (s) { s.points.forEach(function (v) { if (v > maxY) maxY = v; }); });
    maxY = maxY || 1;
    $(id).innerHTML = axes(maxY, label, w, h) + series.map(function (s) { return line(s.points, s.color, maxY, w, h); }).join('');
  }

  function render() {
    $('stat-requests').textContent = String(state.requests);
    $('stat-errors').textContent = String(state.errors);
    $('stat-fallback').textContent = state.requests ? Math.round(100 * state.fallbacks / state.requests) + '%' : '0%';
    $('stat-latency').textContent = fmt(pct(state.latencies, 50)) + ' / ' + fmt(pct(state.latencies, 95)) + ' ms';
    var buckets = state.buckets.filter(function (b) { return b.ms.length; });
    chart('latency-chart', [
      { color: '#58a6ff', points: buckets.map(function (b) { return pct(b.ms, 50); }) },
      { color: '#bc8cff', points: buckets.map(function (b) { return pct(b.ms, 95); }) }
    ], function (m) { return fmt(m); });
    chart('fallback-chart', [{ color: '#d29922', points: state.buckets.map(function (b) { return b.requests ? b.fallbacks / b.requests : 0; }) }],
      function (m) { return Math.round(m * 100) + '%'; });
    chart('evolution-chart', [{ color: '#3fb950', points: state.evolution.map(function (e) { return e.score; }) }],
      function (m) { return m.toFixed(2); });
    $('evolution-note').textContent = state.evolution.length ? state.evolution.length + ' scores, last ' + state.evolution[state.evolution.length - 1].score.toFixed(3) : 'no evolution run reported yet';

    var total = 0, tokens = $('tokens');
    while (tokens.childNodes.length > 1) tokens.removeChild(tokens.lastChild);
    Object.keys(state.tokens).forEach(function (name) {
      var t = state.tokens[name]; total += t.input + t.output;
      var d = el('div'); d.appendChild(el('span', name + ' in / out')); d.appendChild(el('b', t.input + ' / ' + t.output, 'big')); tokens.appendChild(d);
    });
    $('stat-tokens').textContent = String(total);

    var pbody = $('providers').tBodies[0]; pbody.innerHTML = '';
    Object.keys(state.providers).sort().forEach(function (name) {
      var p = state.providers[name], tr = el('tr');
      var cls = /open|fail|down|error/i.test(p.state) ? 'bad' : /half|warn/i.test(p.state) ? 'warn' : /closed|ok|avail|pass/i.test(p.state) ? 'ok' : '';
      tr.appendChild(el('td', name)); tr.appendChild(el('td', p.state, cls));
      tr.appendChild(el('td', p.total ? p.ok + ' / ' + p.total : '–'));
      tr.appendChild(el('td', p.last ? new Date(p.last).toLocaleTimeString() : '–'));
      pbody.appendChild(tr);
    });

    var rbody = $('requests').tBodies[0]; rbody.innerHTML = '';
    state.rows.forEach(function (r) {
      var tr = el('tr');
      tr.setAttribute('data-request-id', r.id || '');
      tr.appendChild(el('td', new Date(r.ts).toLocaleTimeString()));
      tr.appendChild(el('td', r.endpoint + (r.stream ? ' (stream)' : '')));
      tr.appendChild(el('td', r.requestedModel));
      tr.appendChild(el('td', r.provider === 'none' ? '–' : r.provider + (r.model ? ' / ' + r.model : ''), r.fallback ? 'warn' : ''));
      tr.appendChild(el('td', String(r.status), r.status >= 400 || r.error ? 'bad' : 'ok'));
      tr.appendChild(el('td', fmt(r.ms)));
      tr.appendChild(el('td', r.ttftMs == null ? '–' : fmt(r.ttftMs)));
      tr.appendChild(el('td', r.usage ? String(r.usage.totalTokens) : '–'));
      tr.appendChild(el('td', (r.attempts || []).map(function (a) { return a.provider + (a.ok ? ' ✓' : ' ✗ ' + (a.error ? a.error.code : '')); }).join(', ')));
      rbody.appendChild(tr);
    });
  }

  // Spend comes from the admin API (the master key, passed as ?api_key=), read again after requests under a key settle.
  var spendTimer = null;
  function loadSpend() {
    spendTimer = null;
    var key = new URLSearchParams(location.search).get('api_key');
    fetch('/admin/spend' + (key ? '?api_key=' + encodeURIComponent(key) : '')).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (r) {
      var tbody = $('spend').tBodies[0]; tbody.innerHTML = '';
      if (!r.ok) { $('spend-note').textContent = (r.body.error && r.body.error.message) || 'spend unavailable'; return; }
      var byKey = r.body.by_key || {};
      Object.keys(byKey).forEach(function (id) {
        var k = byKey[id], tr = el('tr');
        tr.appendChild(el('td', id)); tr.appendChild(el('td', k.name)); tr.appendChild(el('td', String(k.requests)));
        tr.appendChild(el('td', String(k.tokens))); tr.appendChild(el('td', '$' + k.cost_usd.toFixed(4)));
        tbody.appendChild(tr);
      });
      $('spend-note').textContent = Object.keys(byKey).length ? 'total $' + r.body.total.cost_usd.toFixed(4) : 'no requests under a virtual key yet';
    }).catch(function () { $('spend-note').textContent = 'spend unavailable'; });
  }
  function scheduleSpend() { if (!spendTimer) spendTimer = setTimeout(loadSpend, 1000); }

  // The banner of active alerts, from GET /api/alerts (the master key, passed as ?api_key=), read again on alert.* events.
  var alertsTimer = null;
  function loadAlerts() {
    alertsTimer = null;
    var key = new URLSearchParams(location.search).get('api_key');
    fetch('/api/alerts' + (key ? '?api_key=' + encodeURIComponent(key) : '')).then(function (r) {
      return r.ok ? r.json() : { active: [] };
    }).then(function (body) {
      var active = body.active || [], list = $('alerts-list'); list.innerHTML = '';
      active.forEach(function (a) {
        var row = el('div'); row.setAttribute('data-alert-id', a.id);
        row.appendChild(el('b', a.rule + ': ')); row.appendChild(el('span', a.summary));
        row.appendChild(el('span', '  since ' + new Date(a.startedAt).toLocaleTimeString(), 'since'));
        list.appendChild(row);
      });
      $('alerts').hidden = active.length === 0;
    }).catch(function () { /* keep the banner as it is */ });
  }
  function scheduleAlerts() { if (!alertsTimer) alertsTimer = setTimeout(loadAlerts, 100); }

  // Runs reported by unity run / unity evolve (RunReporter): summaries from GET /api/runs at load, then live from
  // /ws: run.update replaces a run's summary, run.<kind>.<type> adds to its latest events. Text only (textContent).
  // By run id: a Map, since ids are the reporters' (constructor, toString, __proto__ are valid ones).
  var MAX_RUNS = 10, RUN_EVENTS = 6, runs = new Map(), runsTimer = null;
  function runEntry(id) { if (!runs.has(id)) runs.set(id, { summary: null, events: [] }); return runs.get(id); }
  function onRunEvent(e) {
    if (typeof e.runId !== 'string') return;
    var entry = runEntry(e.runId);
    if (e.type === 'run.update') {
      if (e.run && (!entry.summary || e.run.updatedAt >= entry.summary.updatedAt)) entry.summary = e.run;
    } else {
      entry.events.push(e); if (entry.events.length > RUN_EVENTS) entry.events.shift();
    }
    scheduleRuns();
  }
  function loadRuns() {
    var key = new URLSearchParams(location.search).get('api_key');
    fetch('/api/runs' + (key ? '?api_key=' + encodeURIComponent(key) : '')).then(function (r) {
      return r.ok ? r.json() : { runs: [] };
    }).then(function (body) {
      (body.runs || []).forEach(function (run) {
        var entry = runEntry(run.id);
        if (!entry.summary || run.updatedAt > entry.summary.updatedAt) entry.summary = run;
      });
      scheduleRuns();
    }).catch(function () { /* the live feed still fills the panel */ });
  }
  function scheduleRuns() { if (!runsTimer) runsTimer = setTimeout(function () { runsTimer = null; renderRuns(); }, 200); }
  function num(v, digits) { return typeof v === 'number' ? v.toFixed(digits) : '–'; }
  function runEventText(e) {
    var t = String(e.type).split('.').pop();
    switch (t) {
      case 'step': return 'step ' + e.iteration + ' · ' + e.model + ((e.toolCalls || []).length ? ' → ' + e.toolCalls.join(', ') : '') + ' · ' + (e.inputTokens + e.outputTokens) + ' tokens';
      case 'tool-call': return 'tool ' + e.name + ' ' + String(e.arguments).slice(0, 100);
      case 'tool-result': return e.name + (e.ok ? ' ok' : ' failed: ' + String(e.error || '').slice(0, 100));
      case 'reminder': return 'reminder (' + e.level + ') after ' + e.toolCalls + ' tool calls';
      case 'final-request': return 'iteration limit: final request after ' + e.toolCalls + ' tool calls';
      case 'nudge': return 'nudge: ' + String(e.message).slice(0, 120);
      case 'compacted': return 'context compacted ' + e.tokensBefore + ' → ' + e.tokensAfter + ' tokens';
      case 'start': return 'baseline ' + num(e.baselineScore, 2) + (e.resumed ? ' (resumed)' : '');
      case 'generation': return 'generation ' + e.generation;
      case 'candidate': return 'candidate ' + e.id + ' (' + e.strategy + ') ' + (e.score === null ? 'failed' : num(e.score, 2)) + ', best ' + num(e.bestScore, 2);
      case 'best': return 'new best ' + e.id + ': ' + num(e.score, 2);
      case 'holdout': return 'holdout of ' + e.id + ': ' + num(e.holdoutScore, 2);
      case 'warning': return 'warning: ' + String(e.message).slice(0, 120);
      case 'stop': return 'stopped: ' + e.stopReason;
      default: return t;
    }
  }
  function runFigures(s) {
    if (s.agent) {
      var a = s.agent, names = Object.keys(a.toolCalls), calls = 0;
      names.forEach(function (n) { calls += a.toolCalls[n]; });
      return 'steps ' + a.steps + ' · tool calls ' + calls + (names.length ? ' (' + names.map(function (n) { return n + ' ' + a.toolCalls[n]; }).join(', ') + ')' : '') +
        (a.failedToolCalls ? ', ' + a.failedToolCalls + ' failed' : '') + ' · reminders ' + a.reminders + (a.lastReminder ? ' (last: ' + a.lastReminder + ')' : '') +
        (a.nudges ? ' · nudges ' + a.nudges : '') + ' · tokens ' + a.inputTokens + ' / ' + a.outputTokens + (a.model ? ' · ' + a.model : '');
    }
    var v = s.evolution || {};
    return 'generation ' + v.generation + ' · candidates ' + v.candidates + (v.failures ? ' (' + v.failures + ' failed)' : '') +
      ' · best ' + num(v.bestScore, 2) + ' (baseline ' + num(v.baselineScore, 2) + ') · last ' + (v.lastScore === null ? 'failed' : num(v.lastScore, 2)) +
      (v.warnings ? ' · warnings ' + v.warnings : '');
  }
  function runArms(arms) {
    var table = el('table'), head = el('tr');
    ['arm', 'pulls', 'mean reward', 'successes'].forEach(function (h) { head.appendChild(el('th', h)); });
    table.appendChild(head);
    Object.keys(arms).forEach(function (name) {
      var tr = el('tr'), arm = arms[name]; tr.setAttribute('data-arm', name);
      tr.appendChild(el('td', name)); tr.appendChild(el('td', String(arm.pulls)));
      tr.appendChild(el('td', num(arm.meanReward, 3))); tr.appendChild(el('td', String(arm.successes)));
      table.appendChild(tr);
    });
    return table;
  }
  function runScores(scores) {
    var ns = 'http://www.w3.org/2000/svg', svg = document.createElementNS(ns, 'svg'), w = 520, h = 48, lo = Infinity, hi = -Infinity;
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h); svg.setAttribute('preserveAspectRatio', 'none');
    scores.forEach(function (p) { [p.best, p.score].forEach(function (v) { if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }); });
    var x = function (i) { return scores.length < 2 ? w / 2 : 4 + (i / (scores.length - 1)) * (w - 8); };
    var y = function (v) { return hi > lo ? h - 4 - ((v - lo) / (hi - lo)) * (h - 8) : h / 2; };
    var best = document.createElementNS(ns, 'path');
    best.setAttribute('d', scores.map(function (p, i) { return (i ? 'L' : 'M') + x(i).toFixed(1) + ' ' + y(p.best).toFixed(1); }).join(' '));
    best.setAttribute('fill', 'none'); best.setAttribute('stroke', '#3fb950'); best.setAttribute('stroke-width', '2');
    svg.appendChild(best);
    scores.forEach(function (p, i) {
      if (p.score === null) return;
      var dot = document.createElementNS(ns, 'circle');
      dot.setAttribute('cx', x(i).toFixed(1)); dot.setAttribute('cy', y(p.score).toFixed(1)); dot.setAttribute('r', '2'); dot.setAttribute('fill', '#58a6ff');
      svg.appendChild(dot);
    });
    return svg;
  }
  function renderRuns() {
    var box = $('runs'); box.innerHTML = '';
    var list = Array.from(runs.values()).filter(function (r) { return r.summary; })
      .sort(function (a, b) { return b.summary.updatedAt - a.summary.updatedAt; }).slice(0, MAX_RUNS);
    $('runs-note').textContent = list.length ? '' : 'no run reported yet: unity run --report URL, unity evolve --report URL';
    list.forEach(function (r) {
      var s = r.summary, div = el('div', undefined, 'run'), head = el('div', undefined, 'run-head');
      div.setAttribute('data-run-id', s.id); div.setAttribute('data-kind', s.kind);
      head.appendChild(el('b', s.title || s.id));
      head.appendChild(el('span', s.kind + ' · ' + s.id + ' · by ' + s.reporter, 'dim'));
      head.appendChild(el('span', s.status === 'running' ? 'running' : String(s.stopReason), s.status === 'running' ? 'warn' : s.stopReason === 'completed' || s.stopReason === 'generations' || s.stopReason === 'target' ? 'ok' : 'bad'));
      head.appendChild(el('span', (s.elapsedMs / 1000).toFixed(1) + ' s · ' + s.events + ' events' + (s.dropped ? ', ' + s.dropped + ' dropped' : ''), 'dim'));
      div.appendChild(head);
      div.appendChild(el('div', runFigures(s), 'run-figures'));
      if (s.evolution && Object.keys(s.evolution.arms).length) div.appendChild(runArms(s.evolution.arms));
      if (s.evolution && s.evolution.scores.length) div.appendChild(runScores(s.evolution.scores));
      var events = el('div', undefined, 'run-events');
      r.events.slice().reverse().forEach(function (e) { events.appendChild(el('div', runEventText(e))); });
      div.appendChild(events);
      box.appendChild(div);
    });
  }

  var dirty = false;
  function schedule() { if (!dirty) { dirty = true; setTimeout(function () { dirty = false; render(); }, 200); } }

  function connect() {
    var key = new URLSearchParams(location.search).get('api_key');
    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws' + (key ? '?api_key=' + encodeURIComponent(key) : '');
    var ws = new WebSocket(url);
    ws.onopen = function () { $('status').textContent = 'live'; $('status').className = 'live'; };
    ws.onmessage = function (m) { try { onEvent(JSON.parse(m.data)); schedule(); } catch (err) { /* ignore a malformed event */ } };
    ws.onclose = function () { $('status').textContent = 'disconnected — retrying'; $('status').className = ''; setTimeout(connect, 2000); };
  }
  render();
  loadSpend();
  loadRuns();
  loadAlerts();
  connect();
})();
</script>
</body>
</html>
`;
