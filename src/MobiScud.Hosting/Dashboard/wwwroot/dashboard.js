// The MobiScud dashboard: signs in with the bearer token (kept in sessionStorage), reads the server's
// Server-Sent Events stream over fetch (so the token travels in the Authorization header, not the URL), draws the map
// on a canvas from the server's aggregated groups, and the charts with uPlot.
'use strict';
(() => {
  const KEY = 'mobiscud.token';
  const $ = (s) => document.querySelector(s);
  const model = { topology: null, frame: null, frames: 0, series: [], selected: null, ladderAt: 0 };
  window.mobiscudDashboard = model;

  const token = () => sessionStorage.getItem(KEY);
  const call = (path, init = {}) => fetch(path, { ...init, headers: { Authorization: 'Bearer ' + token() } });
  const num = (v) => (v === null || v === undefined || v === 'NaN' ? NaN : Number(v));
  const mib = (b) => (b / 1048576).toFixed(1) + ' MiB';
  const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };

  function showSignIn(message) {
    $('#dash').hidden = true;
    $('#signin').hidden = false;
    $('#signin-error').textContent = message || '';
  }

  async function signIn(t) {
    sessionStorage.setItem(KEY, t);
    const r = await call('/api/v1/dashboard/topology');
    if (r.status === 401) {
      sessionStorage.removeItem(KEY);
      showSignIn('The token was refused.');
      return;
    }
    if (!r.ok) {
      showSignIn('The service answered ' + r.status + '.');
      return;
    }
    onTopology(await r.json());
    $('#signin').hidden = true;
    $('#dash').hidden = false;
    const s = await call('/api/v1/dashboard/series');
    if (s.ok) { model.series = await s.json(); }
    charts.init();
    stream();
  }

  // One fetch kept open; a broken stream is opened again after a second.
  async function stream() {
    const status = $('#status');
    try {
      const r = await call('/api/v1/dashboard/stream');
      if (r.status === 401) { showSignIn('The token was refused.'); return; }
      status.textContent = 'live'; status.className = 'status live';
      const reader = r.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let kind = 'message'; let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) kind = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (kind === 'topology') onTopology(JSON.parse(data));
          else if (kind === 'frame') onFrame(JSON.parse(data));
        }
      }
    } catch (e) {
      // Reported below as "reconnecting"; the stream is opened again.
    }
    status.textContent = 'reconnecting'; status.className = 'status down';
    if (token()) setTimeout(stream, 1000);
  }

  function onTopology(t) {
    model.topology = t;
    $('#title').textContent = t.title;
    $('#lanes-panel').hidden = !t.simulation;
    drawSoon();
  }

  function onFrame(f) {
    model.frame = f;
    model.frames++;
    document.body.dataset.frames = String(model.frames);
    $('#clock').textContent = clock(f.t);
    $('#counts').textContent = `${f.ues} UEs, ${f.connected} connected, ${f.migrations.filter((m) => m.phase === 'running').length} migrating`;
    sites(f);
    migrations(f.migrations);
    feed(f.feed);
    ues(f);
    lanes(f.lanes);
    const last = model.series[model.series.length - 1];
    if (f.point && (!last || f.point.t > last.t)) { model.series.push(f.point); if (model.series.length > 720) model.series.shift(); charts.update(); }
    if (model.selected && performance.now() - model.ladderAt > 500) ladder(model.selected);
    drawSoon();
  }

  function clock(t) {
    const s = Math.floor(t);
    if (s > 1e9) return new Date(t * 1000).toISOString().slice(11, 19) + ' UTC';
    return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')} simulated`;
  }

  function sites(f) {
    const box = $('#sites');
    box.replaceChildren();
    (model.topology?.sites || []).forEach((s, i) => {
      const n = f.sitePvms[i] || 0;
      const e = el('span', s.capacity > 0 && n >= s.capacity ? 'full' : '', `${s.name}: ${n}${s.capacity > 0 ? ' / ' + s.capacity : ''} PVMs`);
      e.dataset.site = s.name;
      box.append(e);
    });
  }

  function migrations(list) {
    const box = $('#migrations');
    box.replaceChildren();
    if (list.length === 0) { box.append(el('p', 'empty', 'none in progress')); return; }
    for (const m of list) {
      const d = el('div', 'migration ' + m.phase);
      d.dataset.id = m.id; d.dataset.ue = m.ue; d.dataset.phase = m.phase;
      const total = m.bytesSent + m.bytesRemaining;
      const pct = m.phase === 'completed' ? 100 : total > 0 ? Math.min(99, (100 * m.bytesSent) / total) : 0;
      d.dataset.percent = pct.toFixed(1);
      d.append(el('div', '', `${m.ue}: ${m.from} \u2192 ${m.to} (${m.phase})`));
      const bar = el('div', 'bar'); const fill = el('div'); fill.style.width = pct + '%'; bar.append(fill); d.append(bar);
      const down = num(m.expectedDowntimeMs);
      d.append(el('div', 'what', `${mib(m.bytesSent)} sent, ${mib(m.bytesRemaining)} left${isNaN(down) ? '' : `, expected downtime ${down.toFixed(0)} ms`}`));
      box.append(d);
    }
  }

  function feed(items) {
    const list = $('#feed');
    for (const it of items) {
      const li = el('li', '', `${clock(it.at)}  ${it.ue}  ${it.kind}  ${it.detail}`);
      li.dataset.kind = it.kind; li.dataset.ue = it.ue;
      list.prepend(li);
    }
    while (list.children.length > 200) list.lastChild.remove();
  }

  function ues(f) {
    const body = $('#ues tbody');
    const filter = $('#ue-search').value.trim();
    if (!f.list) {
      $('#ues-note').textContent = `${f.ues} UEs: too many to list; type a UE id to see its ladder.`;
      body.replaceChildren();
      return;
    }
    const rows = f.list.filter((u) => !filter || u[0].includes(filter)).slice(0, 200);
    $('#ues-note').textContent = rows.length < f.list.length ? `${rows.length} of ${f.list.length} shown` : '';
    body.replaceChildren(...rows.map((u) => {
      const tr = el('tr', u[0] === model.selected ? 'selected' : '');
      tr.dataset.ue = u[0];
      tr.append(el('td', 'ue', u[0]), el('td', 'enb', u[1]), el('td', 'site', u[2]));
      tr.addEventListener('click', () => select(u[0]));
      return tr;
    }));
  }

  function select(ue) {
    model.selected = ue;
    $('#ladder-ue').textContent = ue;
    ladder(ue);
  }

  async function ladder(ue) {
    model.ladderAt = performance.now();
    const r = await call('/api/v1/dashboard/ues/' + encodeURIComponent(ue));
    const list = $('#ladder');
    if (!r.ok) { list.replaceChildren(el('li', 'empty', r.status === 404 ? 'not known' : 'error ' + r.status)); return; }
    const d = await r.json();
    list.replaceChildren(...d.ladder.map((e) => {
      const li = el('li', e.from === 'MC' ? 'mc' : '');
      li.append(el('span', 'party', `${clock(e.at)} ${e.from} \u2192 ${e.to}  `), el('span', 'msg', e.text));
      return li;
    }));
  }

  function lanes(rows) {
    if (!rows || rows.length === 0) return;
    const f = (v, d) => (isNaN(num(v)) ? '-' : num(v).toFixed(d));
    $('#lanes tbody').replaceChildren(...rows.map((l) => {
      const tr = el('tr');
      tr.dataset.lane = l.name;
      for (const v of [l.name, f(l.rttP50Ms, 2), f(l.rttP95Ms, 2), f(l.lostPercent, 2), l.started, l.completed, l.cancelled, l.failed, f(l.gbOnWire, 2), f(l.awayPercent, 1)]) tr.append(el('td', '', String(v)));
      return tr;
    }));
  }

  // The map: eNBs, sites, UEs around their eNB and a line to where their PVM runs, from the coordinates; with a tile
  // URL template and geographic coordinates, map tiles (Web Mercator, {z}/{x}/{y}) are drawn underneath.
  let pending = false;
  const tileCache = new Map();
  // CORS first, so the canvas stays readable; a tile server that does not allow it still shows its tiles.
  function tile(url) {
    let t = tileCache.get(url);
    if (t) return t;
    t = new Image(); t.crossOrigin = 'anonymous';
    t.onload = drawSoon;
    t.onerror = () => { if (t.crossOrigin !== null) { t.crossOrigin = null; t.src = url; } };
    t.src = url;
    if (tileCache.size > 512) tileCache.delete(tileCache.keys().next().value);
    tileCache.set(url, t);
    return t;
  }
  function drawTiles(g, t, w, h, k, scale, X, Y) {
    // X(px) -> longitude, Y(px) -> latitude: the inverse of P. Zoom: Mercator's pixels per degree closest to ours.
    const z = Math.max(0, Math.min(19, Math.round(Math.log2((scale * k * 360) / 256))));
    const n = 2 ** z;
    const tx = (lon) => Math.floor(((lon + 180) / 360) * n);
    const ty = (lat) => { const r = (Math.max(-85, Math.min(85, lat)) * Math.PI) / 180; return Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n); };
    const lon = (x) => (x / n) * 360 - 180;
    const lat = (y) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / n))) * 180) / Math.PI;
    const xa = Math.max(0, tx(X(0))); const xb = Math.min(n - 1, tx(X(w)));
    const ya = Math.max(0, ty(Y(0))); const yb = Math.min(n - 1, ty(Y(h)));
    if ((xb - xa + 1) * (yb - ya + 1) > 100) return;
    let drawn = 0;
    for (let x = xa; x <= xb; x++) {
      for (let y = ya; y <= yb; y++) {
        const img = tile(t.tiles.replace('{z}', z).replace('{x}', x).replace('{y}', y));
        if (!img.complete || !img.naturalWidth) continue;
        const [x0, y0] = model.project(lon(x), lat(y)); const [x1, y1] = model.project(lon(x + 1), lat(y + 1));
        g.drawImage(img, x0, y0, x1 - x0, y1 - y0);
        drawn++;
      }
    }
    document.body.dataset.tiles = String(drawn);
    document.body.dataset.tilesInView = String((xb - xa + 1) * (yb - ya + 1));
  }
  function drawSoon() { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; draw(); }); } }

  function draw() {
    const t = model.topology; const f = model.frame; const canvas = $('#map');
    if (!t || !canvas.clientWidth) return;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = canvas.clientWidth * dpr; canvas.height = canvas.clientHeight * dpr;
    const g = canvas.getContext('2d');
    g.scale(dpr, dpr);
    const w = canvas.clientWidth; const h = canvas.clientHeight;
    const pts = t.enbs.map((e) => [e.x, e.y]).concat(t.sites.map((s) => [s.x, s.y]));
    if (pts.length === 0) return;
    const k = t.geo ? Math.cos((pts.reduce((a, p) => a + p[1], 0) / pts.length) * Math.PI / 180) : 1;
    const xs = pts.map((p) => p[0] * k); const ys = pts.map((p) => p[1]);
    const x0 = Math.min(...xs); const x1 = Math.max(...xs); const y0 = Math.min(...ys); const y1 = Math.max(...ys);
    const scale = Math.min((w - 40) / Math.max(1e-9, x1 - x0), (h - 40) / Math.max(1e-9, y1 - y0));
    const ox = (w - (x1 - x0) * scale) / 2; const oy = (h - (y1 - y0) * scale) / 2;
    const P = (x, y) => [ox + (x * k - x0) * scale, h - (oy + (y - y0) * scale)];
    const enb = t.enbs.map((e) => P(e.x, e.y)); const site = t.sites.map((s) => P(s.x, s.y));
    g.clearRect(0, 0, w, h);
    model.project = P;
    if (t.geo && t.tiles) drawTiles(g, t, w, h, k, scale, (px) => (px - ox) / scale / k + x0 / k, (py) => (h - py - oy) / scale + y0);
    // eNB -> serving site (thin), then UEs.
    g.strokeStyle = '#d0d6e0'; g.lineWidth = 0.5;
    t.enbs.forEach((e, i) => { const s = t.sites.findIndex((x) => x.name === e.site); if (s >= 0) { g.beginPath(); g.moveTo(...enb[i]); g.lineTo(...site[s]); g.stroke(); } });
    g.fillStyle = '#5a6b85';
    for (const p of enb) { g.beginPath(); g.moveTo(p[0], p[1] - 4); g.lineTo(p[0] + 3.5, p[1] + 3); g.lineTo(p[0] - 3.5, p[1] + 3); g.fill(); }
    if (f) {
      const away = 'rgba(232,89,12,0.55)'; const home = 'rgba(43,138,62,0.35)';
      const servingSite = (e) => t.sites.findIndex((x) => x.name === t.enbs[e].site);
      if (f.list) {
        const index = new Map(t.enbs.map((e, i) => [e.id, i])); const sidx = new Map(t.sites.map((s, i) => [s.name, i]));
        const seen = new Map();
        for (const [id, e, s] of f.list) {
          const ei = index.get(e); if (ei === undefined) continue;
          const n = seen.get(ei) || 0; seen.set(ei, n + 1);
          const a = n * 2.39996; const r = 9 + 3 * Math.sqrt(n);
          const u = [enb[ei][0] + r * Math.cos(a), enb[ei][1] + r * Math.sin(a)];
          const si = sidx.get(s);
          if (si !== undefined) { g.strokeStyle = si === servingSite(ei) ? home : away; g.lineWidth = 1; g.beginPath(); g.moveTo(...u); g.lineTo(...site[si]); g.stroke(); }
          g.fillStyle = '#e8590c'; g.beginPath(); g.arc(u[0], u[1], 2.5, 0, 2 * Math.PI); g.fill();
          if (f.list.length <= 20) { g.fillStyle = '#1d2430'; g.font = '10px sans-serif'; g.fillText(id, u[0] + 4, u[1] - 4); }
        }
      } else {
        for (const [e, s, n] of f.groups) {
          if (s >= 0) { g.strokeStyle = s === servingSite(e) ? home : away; g.lineWidth = Math.min(6, 0.5 + Math.log2(1 + n)); g.beginPath(); g.moveTo(...enb[e]); g.lineTo(...site[s]); g.stroke(); }
        }
        g.fillStyle = 'rgba(232,89,12,0.8)';
        const perEnb = new Map(); for (const [e, , n] of f.groups) perEnb.set(e, (perEnb.get(e) || 0) + n);
        for (const [e, n] of perEnb) { g.beginPath(); g.arc(enb[e][0], enb[e][1], Math.min(12, 1.5 + Math.sqrt(n)), 0, 2 * Math.PI); g.fill(); }
      }
    }
    t.sites.forEach((s, i) => {
      const n = f ? f.sitePvms[i] || 0 : 0; const [x, y] = site[i];
      const size = 7 + Math.min(10, Math.sqrt(n));
      g.fillStyle = s.core ? '#7a3fc0' : s.capacity > 0 && n >= s.capacity ? '#c92a2a' : '#0b6bcb';
      g.fillRect(x - size / 2, y - size / 2, size, size);
      if (t.sites.length <= 60) { g.fillStyle = '#1d2430'; g.font = '11px sans-serif'; g.fillText(`${s.name} ${n}${s.capacity > 0 ? '/' + s.capacity : ''}`, x + size / 2 + 3, y + 4); }
    });
    if (t.enbs.length <= 40) { g.fillStyle = '#5a6b85'; g.font = '10px sans-serif'; t.enbs.forEach((e, i) => g.fillText('eNB ' + e.id, enb[i][0] + 5, enb[i][1] + 12)); }
  }

  // uPlot charts of the series: RTT, counters, busiest link.
  const charts = {
    list: [],
    init() {
      if (this.list.length || typeof uPlot === 'undefined') return;
      const width = () => Math.max(280, Math.floor(($('#charts-panel').clientWidth - 60) / 3));
      const make = (sel, title, series) => new uPlot({ title, width: width(), height: 200, series: [{}].concat(series), axes: [{ values: (u, v) => v.map((x) => clock(x).replace(' simulated', '').replace(' UTC', '')) }, { size: 56 }] }, [[]].concat(series.map(() => [])), $(sel));
      this.list = [
        [make('#chart-rtt', 'RTT (ms)', [{ label: 'p50', stroke: '#0b6bcb' }, { label: 'p95', stroke: '#e8590c' }]), (p) => [num(p.rttP50Ms), num(p.rttP95Ms)]],
        [make('#chart-counts', 'Handovers, migrations (cumulative)', [{ label: 'handovers', stroke: '#5a6b85' }, { label: 'started', stroke: '#0b6bcb' }, { label: 'completed', stroke: '#2b8a3e' }, { label: 'cancelled', stroke: '#e8590c' }, { label: 'steering failed', stroke: '#c92a2a' }]),
          (p) => [p.handovers, p.migrationsStarted, p.migrationsCompleted, p.migrationsCancelled, p.steeringFailures]],
        [make('#chart-link', 'Busiest link utilisation', [{ label: 'utilisation', stroke: '#7a3fc0' }]), (p) => [num(p.linkUtilisation)]],
      ];
      this.update();
    },
    update() {
      for (const [chart, pick] of this.list) {
        const cols = [model.series.map((p) => p.t)];
        const rows = model.series.map(pick);
        for (let i = 0; i < chart.series.length - 1; i++) cols.push(rows.map((r) => (isNaN(r[i]) ? null : r[i])));
        chart.setData(cols);
      }
    },
  };

  $('#signin-form').addEventListener('submit', (e) => { e.preventDefault(); signIn($('#token').value.trim()); });
  $('#signout').addEventListener('click', () => { sessionStorage.removeItem(KEY); location.reload(); });
  $('#ue-search').addEventListener('change', () => { const v = $('#ue-search').value.trim(); if (v) select(v); if (model.frame) ues(model.frame); });
  window.addEventListener('resize', drawSoon);
  // A link may carry the token in its fragment (never sent to the server): kept for the session, then removed from the address bar.
  if (location.hash.startsWith('#token=')) {
    sessionStorage.setItem(KEY, decodeURIComponent(location.hash.slice(7)));
    history.replaceState(null, '', location.pathname);
  }
  if (token()) signIn(token()); else showSignIn();
})();
