// The live dashboard (no build step: an ES module the browser loads as it is). Figures arrive over
// server-sent events from /dashboard/stream once a second; the buttons call the admin API with
// the session cookie and the session's CSRF token in a header. Every value is written with
// textContent, never as HTML.
import uPlot from '/dashboard/assets/uPlot.esm.js';

const HISTORY_SECONDS = 600;
const COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];
const COUNTS = ['admitted', 'resubmitted', 'soldOut', 'paused', 'overloaded', 'notOpen'];
const ACTIONS = [
  { action: 'pause', label: 'Pause', allowed: ['open', 'scheduled'] },
  { action: 'resume', label: 'Resume', allowed: ['paused'] },
  { action: 'close', label: 'Close', allowed: ['open', 'paused', 'scheduled'], confirm: 'Close {code}? A close is final.' },
];

const $ = (id) => document.getElementById(id);
const number = new Intl.NumberFormat('en');
const decimal = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
let csrfToken = '';
/** The charts' points, oldest first: { at, p50Ms, p99Ms, coupons: { CODE: { admissions, decisions } } }. */
let history = [];
let charts = null;

function notice(text, kind = 'warn') {
  const el = $('notice');
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = !text;
}

async function loadSession() {
  const res = await fetch('/dashboard/session', { credentials: 'same-origin', cache: 'no-store' });
  if (res.status === 401) return location.reload();
  const session = await res.json();
  csrfToken = session.csrfToken;
  $('token-id').textContent = session.tokenId;
}

/** POST to the admin API as this session: the cookie goes by itself, the CSRF token in its header. */
async function adminCall(code, action) {
  const res = await fetch(`/admin/v1/coupons/${encodeURIComponent(code)}/${action}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'X-CSRF-Token': csrfToken, Accept: 'application/json' },
  });
  if (res.ok) {
    const coupon = await res.json();
    notice(`${code}: ${action} done, now ${coupon.state}.`, 'ok');
  } else {
    const problem = await res.json().catch(() => ({}));
    notice(`${code}: ${action} refused (${res.status} ${problem.code ?? ''}): ${problem.detail ?? res.statusText}`);
    if (res.status === 401) location.reload();
  }
}

function cell(row, field, text) {
  let td = row.querySelector(`td[data-field="${field}"]`);
  if (!td) {
    td = document.createElement('td');
    td.dataset.field = field;
    row.append(td);
  }
  if (td.textContent !== text) td.textContent = text;
  return td;
}

function couponRow(tbody, coupon) {
  let row = tbody.querySelector(`tr[data-code="${CSS.escape(coupon.code)}"]`);
  if (row) return row;
  row = document.createElement('tr');
  row.dataset.code = coupon.code;
  const name = document.createElement('td');
  name.dataset.field = 'code';
  name.textContent = coupon.code;
  name.title = coupon.name;
  row.append(name);
  const state = document.createElement('td');
  state.dataset.field = 'state';
  state.className = 'state';
  state.append(document.createElement('span'));
  row.append(state);
  for (const field of ['remaining', 'issued', 'queueDepth', 'admissionsPerSecond', 'decisionsPerSecond', ...COUNTS]) cell(row, field, '');
  const actions = document.createElement('td');
  actions.className = 'actions';
  for (const { action, label, confirm } of ACTIONS) {
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.action = action;
    button.textContent = label;
    if (action === 'close') button.className = 'danger';
    button.addEventListener('click', async () => {
      if (confirm && !window.confirm(confirm.replace('{code}', coupon.code))) return;
      button.disabled = true;
      try {
        await adminCall(coupon.code, action);
      } finally {
        button.disabled = false;
      }
    });
    actions.append(button);
  }
  row.append(actions);
  tbody.append(row);
  return row;
}

function renderTable(figures) {
  const tbody = $('coupons').tBodies[0];
  for (const coupon of figures.coupons) {
    const row = couponRow(tbody, coupon);
    row.dataset.state = coupon.state;
    const badge = row.querySelector('td[data-field="state"] span');
    badge.textContent = coupon.state.replace('_', ' ');
    badge.className = `state-badge state-${coupon.state}`;
    cell(row, 'remaining', number.format(coupon.remaining));
    cell(row, 'issued', `${number.format(coupon.issued)} / ${number.format(coupon.totalQuantity)}`);
    cell(row, 'queueDepth', number.format(coupon.queueDepth));
    cell(row, 'admissionsPerSecond', decimal.format(coupon.admissionsPerSecond));
    cell(row, 'decisionsPerSecond', decimal.format(coupon.decisionsPerSecond));
    for (const count of COUNTS) cell(row, count, number.format(coupon.outcomes[count]));
    for (const { action, allowed } of ACTIONS) {
      row.querySelector(`button[data-action="${action}"]`).disabled = !allowed.includes(coupon.state);
    }
  }
  const codes = new Set(figures.coupons.map((c) => c.code));
  for (const row of [...tbody.rows]) if (!codes.has(row.dataset.code)) row.remove();
}

function renderHeader(figures) {
  $('replicas').textContent = String(figures.replicas);
  const { p50Ms, p99Ms, windowSeconds, requests } = figures.acceptLatency;
  $('p50').textContent = p50Ms === null ? '–' : `${decimal.format(p50Ms)} ms`;
  $('p99').textContent = p99Ms === null ? '–' : `${decimal.format(p99Ms)} ms`;
  $('latency-window').textContent = `(last ${windowSeconds} s, ${number.format(requests)} requests)`;
}

// --- charts (uPlot) ---

function chartOptions(title, series, width) {
  return {
    width,
    height: 220,
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(1, max * 1.1)] } },
    series: [{}, ...series],
    axes: [{}, { size: 60 }],
  };
}

function chartData(codes) {
  const xs = history.map((p) => p.at / 1000);
  const per = (key) => codes.map((code) => history.map((p) => p.coupons[code]?.[key] ?? null));
  return {
    admissions: [xs, ...per('admissions')],
    decisions: [xs, ...per('decisions')],
    latency: [xs, history.map((p) => p.p50Ms), history.map((p) => p.p99Ms)],
  };
}

function renderCharts() {
  const codes = [...new Set(history.flatMap((p) => Object.keys(p.coupons)))].sort();
  const key = codes.join(',');
  const data = chartData(codes);
  if (!charts || charts.key !== key) {
    charts?.all.forEach((c) => c.destroy());
    const width = Math.max(360, $('chart-admissions').clientWidth || 420);
    const perCoupon = codes.map((code, i) => ({ label: code, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false }));
    const admissions = new uPlot(chartOptions('admissions', perCoupon, width), data.admissions, $('chart-admissions'));
    const decisions = new uPlot(chartOptions('decisions', perCoupon, width), data.decisions, $('chart-decisions'));
    const latency = new uPlot(
      chartOptions('latency', [{ label: 'p50', stroke: '#2563eb', width: 2 }, { label: 'p99', stroke: '#dc2626', width: 2 }], width),
      data.latency,
      $('chart-latency'),
    );
    charts = { key, all: [admissions, decisions, latency], admissions, decisions, latency };
    return;
  }
  charts.admissions.setData(data.admissions);
  charts.decisions.setData(data.decisions);
  charts.latency.setData(data.latency);
}

function addPoint(figures) {
  history.push({
    at: figures.at,
    p50Ms: figures.acceptLatency.p50Ms,
    p99Ms: figures.acceptLatency.p99Ms,
    coupons: Object.fromEntries(figures.coupons.map((c) => [c.code, { admissions: c.admissionsPerSecond, decisions: c.decisionsPerSecond }])),
  });
  const oldest = figures.at - HISTORY_SECONDS * 1000;
  while (history.length && history[0].at < oldest) history.shift();
}

// --- the stream ---

function connect() {
  const source = new EventSource('/dashboard/stream');
  const connection = $('connection');
  source.addEventListener('open', () => {
    connection.textContent = 'live';
    connection.dataset.state = 'live';
  });
  source.addEventListener('error', () => {
    // Refused for good (the session ended: a 401 is not a stream): back to the sign-in form.
    if (source.readyState === EventSource.CLOSED) return location.reload();
    connection.textContent = 'reconnecting…';
    connection.dataset.state = 'connecting';
  });
  source.addEventListener('history', (e) => {
    history = JSON.parse(e.data);
    renderCharts();
  });
  source.addEventListener('figures', (e) => {
    const figures = JSON.parse(e.data);
    connection.textContent = 'live';
    connection.dataset.state = 'live';
    document.body.dataset.figuresAt = String(figures.at);
    renderHeader(figures);
    renderTable(figures);
    if (!history.length || history.at(-1).at < figures.at) addPoint(figures);
    renderCharts();
  });
  source.addEventListener('unavailable', (e) => {
    connection.textContent = JSON.parse(e.data).unavailable;
    connection.dataset.state = 'unavailable';
  });
  source.addEventListener('signed-out', () => {
    source.close();
    location.reload();
  });
}

// A resized window: the charts are drawn again at the new width.
let resizeTimer;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    charts?.all.forEach((c) => c.destroy());
    charts = null;
    if (history.length) renderCharts();
  }, 200);
});

$('sign-out').addEventListener('click', async () => {
  await fetch('/dashboard/session', { method: 'DELETE', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrfToken } });
  location.reload();
});

await loadSession();
connect();
