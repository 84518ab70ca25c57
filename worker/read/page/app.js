// The worker's built-in dashboard: reads /api/v1 and draws the four keys,
// daily charts and the recent deployments and incidents. No framework and no
// build step, so the worker can serve these files as they are.
import {
  NONE, durationUnit, formatCount, formatDate, formatDay, formatDuration, formatFrequency, formatPercent,
  formatTime, plural, ratingLabel, shortNumber, shortSha,
} from './format.js';

const DEFAULT_DAYS = 30;
const LIST_LIMIT = 100;
const SVG = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- state

// The selection lives in the URL (?team=&service=&environment=&days= or
// &from=&to=), so a link shows the same view to whoever opens it.
function readState() {
  const q = new URLSearchParams(location.search);
  const days = Number(q.get('days'));
  const from = validDay(q.get('from'));
  const to = validDay(q.get('to'));
  const custom = Boolean(from && to && from <= to);
  return {
    team: q.get('team') ?? '',
    service: q.get('service') ?? '',
    environment: q.get('environment') || 'production',
    days: custom ? null : (Number.isInteger(days) && days > 0 && days <= 3660 ? days : DEFAULT_DAYS),
    from: custom ? from : '',
    to: custom ? to : '',
    profile: q.get('profile') === 'dora-2023' ? 'dora-2023' : 'seed',
  };
}

function validDay(s) {
  return s && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) ? s : '';
}

function writeState(state, replace = false) {
  const q = new URLSearchParams();
  if (state.team) q.set('team', state.team);
  if (state.service) q.set('service', state.service);
  q.set('environment', state.environment);
  if (state.days) {
    q.set('days', String(state.days));
  } else {
    q.set('from', state.from);
    q.set('to', state.to);
  }
  if (state.profile !== 'seed') q.set('profile', state.profile);
  // Service names read better with their slash: ?service=acme/checkout.
  const url = `${location.pathname}?${q.toString().replace(/%2F/gi, '/')}`;
  // The same view twice in a row would make Back look broken.
  if (replace || url === `${location.pathname}${location.search}`) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
}

function addDays(day, n) {
  const t = new Date(`${day}T00:00:00Z`);
  t.setUTCDate(t.getUTCDate() + n);
  return t.toISOString().slice(0, 10);
}

function todayUtc() {
  return new Date().toISOString().slice(0, 10);
}

// The API's query for a selection. A date range is sent as whole UTC days,
// the "to" day included, so the API gets an exact instant for each end.
function apiQuery(state, extra = {}) {
  const q = new URLSearchParams();
  if (state.team) q.set('team', state.team);
  if (state.service) q.set('service', state.service);
  q.set('environment', state.environment);
  if (state.days) {
    q.set('days', String(state.days));
  } else {
    q.set('from', `${state.from}T00:00:00Z`);
    q.set('to', `${addDays(state.to, 1)}T00:00:00Z`);
  }
  for (const [k, v] of Object.entries(extra)) q.set(k, String(v));
  return q.toString();
}

// ---------------------------------------------------------------- fetching

class ApiError extends Error {}

async function getJson(path, signal) {
  let response;
  try {
    response = await fetch(path, { signal, headers: { Accept: 'application/json' } });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(`The worker did not answer (${e.message}).`);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // An answer that is not JSON is reported by its status below.
  }
  if (!response.ok) {
    const what = body && body.message ? body.message : response.statusText;
    const field = body && body.field ? ` (${body.field})` : '';
    throw new ApiError(`${path.split('?')[0]} answered ${response.status}${field}: ${what}`);
  }
  if (body === null) throw new ApiError(`${path.split('?')[0]} did not answer JSON.`);
  return body;
}

// ---------------------------------------------------------------- DOM helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  setAttrs(node, attrs);
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.setAttribute('class', v);
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
}

function setBadge(node, rating) {
  node.className = `badge ${rating ?? 'none'}`;
  node.dataset.rating = rating ?? '';
  node.textContent = ratingLabel(rating);
}

function setText(testid, text) {
  document.querySelector(`[data-testid="${testid}"]`).textContent = text;
}

function joinDetail(parts) {
  return parts.filter(Boolean).join(' \u00b7 ');
}

// ---------------------------------------------------------------- headline cards

function renderCards(dora) {
  const df = dora.deployment_frequency;
  setText('df-value', formatFrequency(df.per_day));
  setBadge(document.querySelector('[data-testid="df-rating"]'), df.rating);
  setText('df-detail', joinDetail([
    plural(df.deployments, 'deployment', 'deployments'),
    df.category ? `category ${df.category}` : null,
    df.unsuccessful_attempts ? plural(df.unsuccessful_attempts, 'unsuccessful attempt', 'unsuccessful attempts') : null,
  ]));

  const lt = dora.lead_time;
  setText('lt-value', formatDuration(lt.median_seconds));
  setBadge(document.querySelector('[data-testid="lt-rating"]'), lt.rating);
  setText('lt-detail', lt.sample_size
    ? joinDetail([
      `p90 ${formatDuration(lt.p90_seconds)}`,
      `mean ${formatDuration(lt.mean_seconds)}`,
      plural(lt.sample_size, 'change', 'changes'),
      lt.negative_excluded ? `${formatCount(lt.negative_excluded)} with clock skew left out` : null,
    ])
    : 'No changes with a known commit time deployed');

  const cfr = dora.change_failure_rate;
  setText('cfr-value', formatPercent(cfr.percent));
  setBadge(document.querySelector('[data-testid="cfr-rating"]'), cfr.rating);
  setText('cfr-detail', cfr.deployments
    ? joinDetail([
      `${formatCount(cfr.failed_deployments)} of ${plural(cfr.deployments, 'deployment', 'deployments')} failed`,
      cfr.rollbacks ? plural(cfr.rollbacks, 'rollback', 'rollbacks') : null,
      cfr.hotfixes ? plural(cfr.hotfixes, 'hotfix', 'hotfixes') : null,
      cfr.incident_linked ? `${formatCount(cfr.incident_linked)} linked to incidents` : null,
    ])
    : 'No deployments');

  const ttr = dora.time_to_restore;
  setText('ttr-value', formatDuration(ttr.median_seconds));
  setBadge(document.querySelector('[data-testid="ttr-rating"]'), ttr.rating);
  setText('ttr-detail', ttr.incidents
    ? joinDetail([
      ttr.sample_size ? `p90 ${formatDuration(ttr.p90_seconds)}` : null,
      plural(ttr.incidents, 'incident', 'incidents'),
      ttr.open_incidents ? `${formatCount(ttr.open_incidents)} still open` : null,
    ])
    : 'No incidents');

  const rw = dora.rework_rate;
  setText('rework-value', formatPercent(rw.percent));
  setBadge(document.querySelector('[data-testid="rework-rating"]'), rw.rating);
  setText('rework-detail', rw.deployments
    ? `${formatCount(rw.rework_deployments)} of ${plural(rw.deployments, 'deployment', 'deployments')} were rollbacks or hotfixes`
    : 'No deployments');
}

// ---------------------------------------------------------------- charts

// Axis steps of 1, 2 or 5 times a power of ten, at most `count` of them.
function niceMax(max, count = 4) {
  if (!(max > 0)) return { top: 1, step: 1 };
  const raw = max / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw);
  return { top: Math.ceil(max / step) * step, step };
}

const tooltip = { node: null };

function showTip(event, text) {
  const tip = tooltip.node;
  tip.textContent = text;
  tip.hidden = false;
  const pad = 12;
  const { innerWidth } = window;
  const rect = tip.getBoundingClientRect();
  let x = event.clientX + pad;
  if (x + rect.width > innerWidth - 4) x = event.clientX - rect.width - pad;
  tip.style.left = `${Math.max(4, x)}px`;
  tip.style.top = `${Math.max(4, event.clientY - rect.height - pad)}px`;
}

function hideTip() {
  tooltip.node.hidden = true;
}

// One chart: bars (stacked or drawn over each other) and/or a line, one
// column per UTC day. Drawn at the container's real width so that text stays
// its normal size on any screen.
function drawChart(container, spec) {
  const days = spec.days;
  const width = Math.max(280, container.clientWidth || 600);
  const height = 190;
  const m = { top: 10, right: 10, bottom: 24, left: 46 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const n = Math.max(1, days.length);
  const band = plotW / n;

  let max = 0;
  for (let i = 0; i < days.length; i++) {
    if (spec.bars) {
      const values = spec.bars.map((b) => b.values[i] ?? 0);
      max = Math.max(max, spec.stack ? values.reduce((a, b) => a + b, 0) : Math.max(...values));
    }
    if (spec.line && spec.line.values[i] !== null) max = Math.max(max, spec.line.values[i]);
  }
  const unit = spec.duration ? durationUnit(max) : null;
  const scaled = unit ? max / unit.seconds : max;
  const { top, step } = niceMax(scaled, 4);
  const y = (v) => m.top + plotH - (v / (unit ? unit.seconds : 1) / top) * plotH;
  const tickLabel = (v) => (unit ? `${shortNumber(v)} ${unit.name}` : shortNumber(v));

  const root = svg('svg', {
    width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': spec.label,
  });

  // An empty chart keeps its baseline and days but no made-up scale.
  for (let v = 0; !spec.empty && v <= top + step / 2; v += step) {
    const yy = m.top + plotH - (v / top) * plotH;
    root.append(
      svg('line', { class: 'grid', x1: m.left, x2: width - m.right, y1: yy, y2: yy }),
      svg('text', { class: 'tick', x: m.left - 6, y: yy + 4, 'text-anchor': 'end', text: tickLabel(v) }),
    );
  }

  // A label every few days so that labels never overlap.
  const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(plotW / 56))));
  for (let i = 0; i < days.length; i += every) {
    root.append(svg('text', {
      class: 'tick', x: m.left + band * (i + 0.5), y: height - 6, 'text-anchor': 'middle', text: formatDay(days[i]),
    }));
  }

  if (spec.bars) {
    const bw = Math.max(1, Math.min(28, band * 0.72));
    for (let i = 0; i < days.length; i++) {
      let base = 0;
      for (const bar of spec.bars) {
        const v = bar.values[i] ?? 0;
        if (v > 0) {
          const from = spec.stack ? base : 0;
          const y0 = m.top + plotH - (from / top) * plotH;
          const y1 = m.top + plotH - ((from + v) / top) * plotH;
          root.append(svg('rect', {
            class: `bar ${bar.cls}`, x: m.left + band * i + (band - bw) / 2, y: y1, width: bw,
            height: Math.max(1, y0 - y1), 'data-day': days[i], 'data-value': v,
          }));
        }
        if (spec.stack) base += v;
      }
    }
  }

  if (spec.line) {
    const values = spec.line.values;
    let d = '';
    let pen = false;
    for (let i = 0; i < days.length; i++) {
      if (values[i] === null || values[i] === undefined) { pen = false; continue; }
      const x = m.left + band * (i + 0.5);
      d += `${pen ? 'L' : 'M'}${x.toFixed(1)},${y(values[i]).toFixed(1)}`;
      pen = true;
    }
    if (d) root.append(svg('path', { class: `line ${spec.line.cls}`, d }));
    for (let i = 0; i < days.length; i++) {
      if (values[i] === null || values[i] === undefined) continue;
      root.append(svg('circle', {
        class: `dot ${spec.line.cls}`, cx: m.left + band * (i + 0.5), cy: y(values[i]), r: band > 10 ? 3.5 : 2.5,
        'data-day': days[i], 'data-value': values[i],
      }));
    }
  }

  root.append(svg('line', { class: 'axis', x1: m.left, x2: width - m.right, y1: m.top + plotH, y2: m.top + plotH }));

  // Whole-height hover columns: the day's numbers wherever the pointer is.
  for (let i = 0; i < days.length; i++) {
    const text = spec.tip(i);
    root.append(svg('rect', {
      class: 'hover', x: m.left + band * i, y: m.top, width: band, height: plotH,
      onmousemove: (e) => showTip(e, text), onmouseleave: hideTip,
    }));
  }

  if (spec.empty) {
    root.append(svg('text', {
      class: 'empty', x: m.left + plotW / 2, y: m.top + plotH / 2, 'text-anchor': 'middle', text: spec.empty,
    }));
  }
  container.replaceChildren(root);
}

function renderCharts(daily) {
  const days = daily.map((d) => d.day);
  const col = (k) => daily.map((d) => d[k]);
  const total = (k) => daily.reduce((a, d) => a + (d[k] ?? 0), 0);

  drawChart($('chart-deployments'), {
    label: 'Deployments per day', days, stack: true,
    bars: [
      { cls: 'ok', values: col('deployments') },
      { cls: 'attempt', values: col('unsuccessful_attempts') },
    ],
    empty: total('deployments') + total('unsuccessful_attempts') === 0 ? 'No deployments in this range' : null,
    tip: (i) => {
      const d = daily[i];
      return joinDetail([
        formatDate(d.day), plural(d.deployments, 'deployment', 'deployments'),
        d.unsuccessful_attempts ? plural(d.unsuccessful_attempts, 'unsuccessful attempt', 'unsuccessful attempts') : null,
        d.changes_deployed ? plural(d.changes_deployed, 'change', 'changes') : null,
      ]);
    },
  });

  drawChart($('chart-lead-time'), {
    label: 'Lead time for changes, median per day', days, duration: true,
    line: { cls: 'lead', values: col('lead_time_median_seconds') },
    empty: daily.every((d) => d.lead_time_median_seconds === null) ? 'No changes deployed in this range' : null,
    tip: (i) => {
      const d = daily[i];
      return joinDetail([
        formatDate(d.day),
        d.lead_time_median_seconds === null ? 'no changes'
          : `median ${formatDuration(d.lead_time_median_seconds)} over ${plural(d.changes_deployed, 'change', 'changes')}`,
      ]);
    },
  });

  drawChart($('chart-failures'), {
    label: 'Failed deployments per day', days,
    bars: [
      { cls: 'all', values: col('deployments') },
      { cls: 'failed', values: col('failed_deployments') },
    ],
    empty: total('deployments') === 0 ? 'No deployments in this range' : null,
    tip: (i) => {
      const d = daily[i];
      if (!d.deployments) return `${formatDate(d.day)} \u00b7 no deployments`;
      return joinDetail([
        formatDate(d.day),
        `${formatCount(d.failed_deployments)} of ${plural(d.deployments, 'deployment', 'deployments')} failed`
          + ` (${formatPercent((100 * d.failed_deployments) / d.deployments)})`,
        d.rework_deployments ? `${formatCount(d.rework_deployments)} rework` : null,
      ]);
    },
  });

  drawChart($('chart-restore'), {
    label: 'Time to restore, median by the day the incident opened', days, duration: true,
    line: { cls: 'restore', values: col('restore_median_seconds') },
    empty: total('incidents_opened') === 0 ? 'No incidents in this range' : null,
    tip: (i) => {
      const d = daily[i];
      return joinDetail([
        formatDate(d.day),
        plural(d.incidents_opened, 'incident opened', 'incidents opened'),
        d.restore_median_seconds === null ? null : `median restore ${formatDuration(d.restore_median_seconds)}`,
      ]);
    },
  });
}

// ---------------------------------------------------------------- tables

function statusBadge(status) {
  const kind = {
    success: 'ok', resolved: 'ok', failure: 'bad', error: 'bad', open: 'bad', triggered: 'bad', acknowledged: 'warn',
  }[status] ?? 'neutral';
  return el('span', { class: `pill ${kind}`, text: status });
}

function focusRow(selector) {
  const row = document.querySelector(selector);
  if (!row) return;
  row.scrollIntoView({ behavior: 'smooth', block: 'center' });
  row.classList.remove('flash');
  void row.offsetWidth;  // restarts the highlight animation
  row.classList.add('flash');
}

function deploymentRow(dep, showService) {
  const id = `dep-${encodeURIComponent(dep.deploy_id)}`;
  const detail = el('tr', { class: 'detail-row', id: `${id}-changes`, hidden: true },
    el('td', { colspan: 8 }, deploymentDetail(dep)));
  const toggle = el('button', {
    type: 'button', class: 'expand', 'aria-expanded': 'false', 'aria-controls': `${id}-changes`,
    'aria-label': `Changes of ${dep.deploy_id}`,
  });
  const flip = () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    detail.hidden = !open;
  };
  toggle.addEventListener('click', (e) => { e.stopPropagation(); flip(); });

  const flags = [];
  if (dep.is_rollback || dep.rollback_detected) {
    flags.push(el('span', {
      class: 'flag rework', text: 'rollback',
      title: dep.is_rollback ? 'Flagged a rollback by the sender' : 'Detected: a commit deployed before was deployed again',
    }));
  }
  if (dep.is_hotfix) flags.push(el('span', { class: 'flag rework', text: 'hotfix' }));
  for (const inc of dep.incidents ?? []) {
    flags.push(el('button', {
      type: 'button', class: 'flag incident', text: inc, title: 'Incident attributed to this deployment',
      onclick: (e) => { e.stopPropagation(); focusRow(`tr[data-incident-id="${CSS.escape(inc)}"]`); },
    }));
  }
  if (dep.caused_incident && !(dep.incidents ?? []).length) flags.push(el('span', { class: 'flag incident', text: 'incident' }));

  const row = el('tr', {
    class: `deployment ${dep.status === 'success' ? '' : 'unsuccessful'}`, id, 'data-deploy-id': dep.deploy_id,
    onclick: (e) => { if (!e.target.closest('a,button')) flip(); },
  },
  el('td', { class: 'toggle-col' }, toggle),
  el('td', { title: dep.deployed_at, text: formatTime(dep.deployed_at) }),
  showService ? el('td', { class: 'service-col', text: dep.service }) : null,
  el('td', {}, statusBadge(dep.status)),
  el('td', { class: 'mono', title: dep.commit_sha ?? '', text: shortSha(dep.commit_sha) }),
  el('td', { class: 'num', 'data-testid': 'change-count', text: formatCount(dep.change_count) }),
  el('td', { class: 'num', 'data-testid': 'lead-time', text: formatDuration(dep.lead_time_median_seconds) }),
  el('td', {}, el('div', { class: 'flags' }, flags)));
  if (!showService) detail.firstChild.setAttribute('colspan', '7');
  return [row, detail];
}

function deploymentDetail(dep) {
  const facts = el('p', { class: 'facts' },
    `${dep.deploy_id} from ${dep.source}`,
    dep.started_at ? ` \u00b7 started ${formatTime(dep.started_at)}, took ${formatDuration((Date.parse(dep.deployed_at) - Date.parse(dep.started_at)) / 1000)}` : '',
    dep.status === 'success' ? '' : ' \u00b7 an unsuccessful attempt: its commits go to the next successful deployment',
  );
  const changes = dep.changes ?? [];
  if (!changes.length) {
    return el('div', { class: 'changes' }, facts, el('p', { class: 'muted', text: dep.status === 'success'
      ? 'No changes known: no push or commit time led to this commit.' : 'No changes.' }));
  }
  const sorted = [...changes].sort((a, b) => (a.time_created < b.time_created ? 1 : -1));
  return el('div', { class: 'changes' }, facts,
    el('table', { class: 'inner', 'data-testid': 'changes-table' },
      el('thead', {}, el('tr', {}, el('th', { text: 'Change' }), el('th', { text: 'Committed (UTC)' }),
        el('th', { class: 'num', text: 'Lead time' }))),
      el('tbody', {}, sorted.map((c) => el('tr', { 'data-change-id': c.change_id },
        el('td', { class: 'mono', title: c.change_id, text: shortSha(c.change_id) }),
        el('td', { title: c.time_created, text: formatTime(c.time_created) }),
        el('td', { class: 'num', text: formatDuration(c.lead_time_seconds) }))))),
    changes.length < dep.change_count ? el('p', { class: 'muted', text: `and ${formatCount(dep.change_count - changes.length)} more` }) : null);
}

function renderDeployments(data, showService) {
  const body = $('deployments');
  const rows = data.deployments.flatMap((d) => deploymentRow(d, showService));
  if (!rows.length) {
    rows.push(el('tr', { class: 'empty-row' }, el('td', { colspan: 8, text: 'No deployments in this range.' })));
  }
  body.replaceChildren(...rows);
  const ok = data.deployments.filter((d) => d.status === 'success').length;
  $('deployments-note').textContent = data.deployments.length
    ? joinDetail([
      `${formatCount(data.deployments.length)} shown, newest first`,
      data.deployments.length - ok ? `${formatCount(data.deployments.length - ok)} unsuccessful` : null,
      data.truncated ? `only the newest ${LIST_LIMIT}: narrow the range to see older ones` : null,
    ])
    : '';
}

const WHY = {
  root_cause: (inc) => `Its root-cause commit ${shortSha(inc.root_cause)} reached ${inc.environment} with this deployment.`,
  window: () => 'The last deployment before the incident opened, within the attribution window.',
};

function incidentRow(inc, showService) {
  const dep = inc.deployment;
  const depCell = dep
    ? el('td', {}, el('button', {
      type: 'button', class: 'link', title: `${dep.deploy_id} (${dep.commit_sha ?? 'no commit'})`,
      text: `${shortSha(dep.commit_sha) === NONE ? dep.deploy_id : shortSha(dep.commit_sha)} \u00b7 ${formatTime(dep.deployed_at)}`,
      onclick: () => focusRow(`tr[data-deploy-id="${CSS.escape(dep.deploy_id)}"]`),
    }))
    : el('td', { class: 'muted', text: inc.deploy_id ?? NONE });
  const why = inc.attribution && WHY[inc.attribution]
    ? WHY[inc.attribution](inc)
    : 'No deployment attributed: no root-cause commit matched and none finished within the attribution window before it opened.';
  const restore = inc.restore_seconds !== null && inc.restore_seconds !== undefined
    ? formatDuration(inc.restore_seconds)
    : (inc.time_resolved ? NONE : 'open');
  return el('tr', { 'data-incident-id': inc.incident_id },
    el('td', {},
      el('div', { class: 'mono', text: inc.incident_id }),
      inc.title ? el('div', { class: 'muted small', text: inc.title }) : null,
      inc.severity ? el('span', { class: 'pill neutral small', text: inc.severity }) : null),
    showService ? el('td', { class: 'service-col', text: inc.service }) : null,
    el('td', {}, statusBadge(inc.status)),
    el('td', { title: inc.time_created, text: formatTime(inc.time_created) }),
    el('td', { class: 'num', text: restore }),
    depCell,
    el('td', { class: 'why', 'data-attribution': inc.attribution ?? '', text: why }));
}

function renderIncidents(data, showService) {
  const body = $('incidents');
  const rows = data.incidents.map((i) => incidentRow(i, showService));
  if (!rows.length) rows.push(el('tr', { class: 'empty-row' }, el('td', { colspan: 7, text: 'No incidents in this range.' })));
  body.replaceChildren(...rows);
  const open = data.incidents.filter((i) => !i.time_resolved).length;
  $('incidents-note').textContent = data.incidents.length
    ? joinDetail([
      `${formatCount(data.incidents.length)} shown, newest first`,
      open ? `${formatCount(open)} open` : null,
      data.truncated ? `only the newest ${LIST_LIMIT}` : null,
    ])
    : '';
}

// ---------------------------------------------------------------- pickers

let services = [];
let state = readState();

// Teams come from the service map; without one the team picker stays hidden.
function fillTeamPicker() {
  const teams = [...new Set(services.map((s) => s.team).filter(Boolean))].sort((a, b) => a.localeCompare(b));
  if (state.team && !teams.includes(state.team)) teams.push(state.team);
  $('team-label').hidden = teams.length === 0;
  $('team').replaceChildren(
    el('option', { value: '', text: 'All teams' }),
    ...teams.map((t) => el('option', { value: t, text: t })),
  );
  $('team').value = state.team;
}

function fillPickers() {
  fillTeamPicker();
  const service = $('service');
  const inTeam = services.filter((s) => !state.team || s.team === state.team);
  const known = inTeam.map((s) => s.service);
  const options = [el('option', { value: '', text: state.team ? `All of ${state.team}` : 'All services' })];
  for (const s of inTeam) {
    options.push(el('option', { value: s.service, text: s.team ? `${s.service} (${s.team})` : s.service }));
  }
  if (state.service && !known.includes(state.service)) {
    options.push(el('option', { value: state.service, text: `${state.service} (no data)` }));
  }
  service.replaceChildren(...options);
  service.value = state.service;

  const envs = new Set();
  for (const s of services) {
    if (state.service && s.service !== state.service) continue;
    for (const e of s.environments ?? []) envs.add(e.environment);
  }
  envs.add('production');
  envs.add(state.environment);
  const sorted = [...envs].sort((a, b) => (a === 'production' ? -1 : b === 'production' ? 1 : a.localeCompare(b)));
  $('environment').replaceChildren(...sorted.map((e) => el('option', { value: e, text: e })));
  $('environment').value = state.environment;

  for (const b of document.querySelectorAll('.segmented button')) {
    const on = state.days ? b.dataset.days === String(state.days) : b.dataset.days === 'custom';
    b.setAttribute('aria-pressed', String(on));
  }
  const custom = !state.days;
  $('dates').hidden = !custom;
  $('from').value = state.from;
  $('to').value = state.to;
  $('profile').value = state.profile;
}

function change(patch) {
  state = { ...state, ...patch };
  writeState(state);
  fillPickers();
  load();
}

function wirePickers() {
  $('team').addEventListener('change', (e) => change({ team: e.target.value, service: '' }));
  $('service').addEventListener('change', (e) => change({ service: e.target.value }));
  $('environment').addEventListener('change', (e) => change({ environment: e.target.value }));
  $('profile').addEventListener('change', (e) => change({ profile: e.target.value }));
  for (const b of document.querySelectorAll('.segmented button')) {
    b.addEventListener('click', () => {
      if (b.dataset.days === 'custom') {
        const to = state.to || todayUtc();
        const from = state.from || addDays(to, -((state.days ?? DEFAULT_DAYS) - 1));
        change({ days: null, from, to });
      } else {
        change({ days: Number(b.dataset.days), from: '', to: '' });
      }
    });
  }
  const dates = () => {
    const from = validDay($('from').value);
    const to = validDay($('to').value);
    if (from && to && from <= to) change({ days: null, from, to });
  };
  $('from').addEventListener('change', dates);
  $('to').addEventListener('change', dates);
  $('refresh').addEventListener('click', () => load());
  $('filters').addEventListener('submit', (e) => e.preventDefault());
  window.addEventListener('popstate', () => {
    state = readState();
    fillPickers();
    load();
  });
}

// ---------------------------------------------------------------- loading

let loading = null;
let lastDaily = null;

function setStatus(kind, text) {
  const status = $('status');
  status.className = `status ${kind}`;
  status.textContent = text;
}

function describeRange(dora) {
  const from = dora.from.slice(0, 10);
  // The API's "to" is exclusive; a range ending at midnight ends the day before.
  const to = dora.to.slice(11, 19) === '00:00:00' ? addDays(dora.to.slice(0, 10), -1) : dora.to.slice(0, 10);
  const days = dora.days ? ` (${shortNumber(dora.days)} days)` : '';
  return `${formatDate(from)} \u2013 ${formatDate(to)}${days}`;
}

async function load() {
  if (loading) loading.abort();
  const controller = new AbortController();
  loading = controller;
  const main = $('dashboard');
  const selection = apiQuery(state);
  main.dataset.state = 'loading';
  main.dataset.selection = selection;
  setStatus('loading', 'Loading\u2026');
  try {
    const [dora, deployments, incidents] = await Promise.all([
      getJson(`api/v1/dora?${apiQuery(state, { profile: state.profile })}`, controller.signal),
      getJson(`api/v1/deployments?${apiQuery(state, { limit: LIST_LIMIT })}`, controller.signal),
      getJson(`api/v1/incidents?${apiQuery(state, { limit: LIST_LIMIT })}`, controller.signal),
    ]);
    if (loading !== controller) return;
    main.classList.toggle('all-services', !state.service);
    renderCards(dora);
    lastDaily = dora.daily ?? [];
    renderCharts(lastDaily);
    renderDeployments(deployments, !state.service);
    renderIncidents(incidents, !state.service);
    const who = state.service || (state.team ? `Team ${state.team}` : 'All services');
    $('subtitle').textContent = `${who} \u00b7 ${state.environment} \u00b7 ${describeRange(dora)}`;
    document.title = `Four Keys \u00b7 ${who} \u00b7 ${state.environment}`;
    setStatus('ok', `Updated ${new Date().toISOString().slice(11, 16)} UTC. Days are UTC days.`);
    main.dataset.state = 'ready';
  } catch (e) {
    if (e.name === 'AbortError' || loading !== controller) return;
    setStatus('error', e instanceof ApiError ? e.message : `Something went wrong: ${e.message}`);
    main.dataset.state = 'error';
  }
}

async function loadServices() {
  try {
    const data = await getJson('api/v1/services');
    services = (data.services ?? []).slice().sort((a, b) => a.service.localeCompare(b.service));
  } catch (e) {
    // The page still works for a service named in the URL; the picker says why it is short.
    services = [];
    setStatus('error', e.message);
  }
  fillPickers();
}

function watchWidth() {
  let pending = false;
  let lastWidth = 0;
  const observer = new ResizeObserver((entries) => {
    const width = Math.round(entries[0].contentRect.width);
    if (width === lastWidth || pending) return;
    lastWidth = width;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      if (lastDaily) renderCharts(lastDaily);
    });
  });
  observer.observe(document.querySelector('.charts'));
}

async function start() {
  tooltip.node = $('tooltip');
  writeState(state, true);
  fillPickers();
  wirePickers();
  watchWidth();
  await Promise.all([loadServices(), load()]);
}

start();
