// The worker's dashboard page in a real browser (Debian's Chromium, driven
// by playwright-core), checked against the worker's own /api/v1 answers.
//
//   node tests/browser/page_test.mjs <worker base URL> <service> <screenshot.png>
//
// Exits 0 when every check passes, 1 on the first failed check (the
// screenshot is still written when the page got that far), 2 on bad usage.
// Run by tests/integration/page_browser_test.cc on a database it filled.
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const [baseArg, service, screenshotPath] = process.argv.slice(2);
if (!baseArg || !service || !screenshotPath) {
  console.error('usage: node page_test.mjs <worker base URL> <service> <screenshot.png>');
  process.exit(2);
}
const base = new URL(baseArg.endsWith('/') ? baseArg : `${baseArg}/`);
const STEP_TIMEOUT = 15_000;
const TOTAL_TIMEOUT = 50_000;

class CheckFailed extends Error {}

function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

function checkEqual(actual, expected, what) {
  check(JSON.stringify(actual) === JSON.stringify(expected),
    `${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

const started = Date.now();
const userDataDir = mkdtempSync(join(tmpdir(), 'fourkeys-page-test-'));
let context = null;
let page = null;
const requests = [];        // every URL the page asked for
const foreign = [];         // those not on the worker's origin
const failedResponses = []; // same-origin answers >= 400
const pageErrors = [];      // uncaught exceptions and console errors

// A hung browser must not hang the test suite.
const watchdog = setTimeout(() => {
  console.error(`FAIL: page test did not finish within ${TOTAL_TIMEOUT / 1000} s`);
  process.exit(1);
}, TOTAL_TIMEOUT);

async function apiGet(url) {
  const response = await fetch(url, { headers: { Accept: 'application/json' } });
  const body = await response.text();
  check(response.ok, `GET ${url} answered ${response.status}: ${body}`);
  return JSON.parse(body);
}

// The page's own request for `path` with this selection, as it sent it, so
// that the test asks the API exactly what the page asked.
function pageRequest(path, wantService) {
  const matching = requests.filter((r) => {
    const u = new URL(r);
    return u.pathname === new URL(path, base).pathname && (u.searchParams.get('service') ?? '') === wantService;
  });
  check(matching.length > 0, `the page never requested ${path} for service ${JSON.stringify(wantService)}`);
  return matching[matching.length - 1];
}

async function waitReady(wantService) {
  await page.waitForFunction((svc) => {
    const main = document.getElementById('dashboard');
    if (!main) return false;
    if (main.dataset.state === 'error') return true;
    return main.dataset.state === 'ready' && (new URLSearchParams(main.dataset.selection).get('service') ?? '') === svc;
  }, wantService, { timeout: STEP_TIMEOUT });
  const state = await page.getAttribute('#dashboard', 'data-state');
  if (state === 'error') {
    throw new CheckFailed(`the page shows an error: ${await page.textContent('#status')}`);
  }
}

const text = async (testid) => (await page.textContent(`[data-testid="${testid}"]`)).trim();
const attr = (testid, name) => page.getAttribute(`[data-testid="${testid}"]`, name);

async function run() {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    // Chromium's own background traffic (updates, sync, QUIC probes) would
    // only meet a closed network and slow the start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-quic'],
    viewport: { width: 1280, height: 900 },
    timezoneId: 'UTC',
    locale: 'en-US',
    colorScheme: 'light',
  });
  // Every request is recorded; one for another origin is refused here, so
  // the page cannot reach the network even if it tried, and fails the test.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin !== base.origin) {
      foreign.push(url);
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  context.on('request', (r) => requests.push(r.url()));
  context.on('response', (r) => {
    if (r.status() >= 400 && new URL(r.url()).origin === base.origin) failedResponses.push(`${r.status()} ${r.url()}`);
  });
  page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on('pageerror', (e) => pageErrors.push(`uncaught: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`); });

  // The page as a first visitor sees it: all services.
  const response = await page.goto(base.href);
  check(response && response.ok(), `GET / answered ${response && response.status()}`);
  check((response.headers()['content-type'] ?? '').startsWith('text/html'),
    `GET / is ${response.headers()['content-type']}, not HTML`);
  await waitReady('');

  // The formatter the page uses, pinned to known values so that the
  // comparisons below cannot pass on output that is wrong for every input.
  const pinned = await page.evaluate(async () => {
    const f = await import('./page/format.js');
    return [f.formatDuration(45), f.formatDuration(5400), f.formatDuration(3 * 86400), f.formatDuration(null),
      f.formatPercent(100 / 6), f.formatPercent(50), f.formatFrequency(0.4), f.formatFrequency(3),
      f.ratingLabel('elite'), f.ratingLabel(null)];
  });
  checkEqual(pinned, ['45 s', '1.5 h', '3 days', '\u2014', '16.67%', '50%', '2.8 / week', '3 / day', 'Elite',
    'Not rated'], 'format.js on known values');

  // The picker lists the services the API knows.
  const services = await apiGet(new URL('api/v1/services', base));
  const options = await page.$$eval('[data-testid="service-picker"] option', (os) => os.map((o) => o.value));
  for (const s of services.services) check(options.includes(s.service), `the service picker lacks ${s.service}`);
  check(options.includes(service), `the service picker lacks ${service}; it has ${options.join(', ')}`);

  // Teams (from the service map) get a picker; picking one narrows the
  // services offered and the numbers to that team's services.
  const team = services.services.find((s) => s.service === service)?.team;
  check(team, `the API names no team for ${service}: the test needs a filled database with teams`);
  check(await page.isVisible('[data-testid="team-picker"]'), 'the team picker is hidden although services have teams');
  await page.selectOption('[data-testid="team-picker"]', team);
  await page.waitForFunction((t) => {
    const main = document.getElementById('dashboard');
    return main && main.dataset.state !== 'loading' && new URLSearchParams(main.dataset.selection).get('team') === t;
  }, team, { timeout: STEP_TIMEOUT });
  checkEqual(new URL(page.url()).searchParams.get('team'), team, 'the team in the URL');
  const teamServices = services.services.filter((s) => s.team === team).map((s) => s.service).sort();
  const offered = (await page.$$eval('[data-testid="service-picker"] option', (os) => os.map((o) => o.value)))
    .filter(Boolean).sort();
  checkEqual(offered, teamServices, `services offered for team ${team}`);
  const teamDora = await apiGet(new URL(`api/v1/dora?team=${encodeURIComponent(team)}&environment=production&days=30`, base));
  const teamExpected = await page.evaluate(async (d) => {
    const f = await import('./page/format.js');
    return [f.formatFrequency(d.deployment_frequency.per_day), f.formatPercent(d.change_failure_rate.percent)];
  }, teamDora);
  checkEqual([await text('df-value'), await text('cfr-value')], teamExpected,
    `team ${team}: deployment frequency and change failure rate shown`);

  // Pick the service, as a person would.
  await page.selectOption('[data-testid="service-picker"]', service);
  await waitReady(service);
  const query = new URL(page.url()).searchParams;
  checkEqual([query.get('service'), query.get('environment'), query.get('days')], [service, 'production', '30'],
    'the selection in the URL (service, environment, days)');
  await checkAgainstApi();

  // The URL is a shareable link: opened afresh it shows the same selection.
  requests.length = 0;
  await page.reload();
  await waitReady(service);
  checkEqual(await page.inputValue('[data-testid="service-picker"]'), service, 'service picker after reload');
  await checkAgainstApi();

  await screenshot();
  check(foreign.length === 0, `requests to other origins: ${foreign.join(', ')}`);
  check(failedResponses.length === 0, `failed requests: ${failedResponses.join(', ')}`);
  check(pageErrors.length === 0, `errors in the page: ${pageErrors.join(' | ')}`);
}

async function checkAgainstApi() {
  const doraUrl = pageRequest('api/v1/dora', service);
  const depUrl = pageRequest('api/v1/deployments', service);
  const incUrl = pageRequest('api/v1/incidents', service);
  const [dora, deps, incs] = await Promise.all([apiGet(doraUrl), apiGet(depUrl), apiGet(incUrl)]);
  check(dora.deployment_frequency.deployments > 0,
    `the API has no deployments for ${service} in ${doraUrl}: the test needs a filled database`);

  // The headline values, formatted by the page's own rules.
  const expected = await page.evaluate(async (d) => {
    const f = await import('./page/format.js');
    return {
      'df-value': f.formatFrequency(d.deployment_frequency.per_day),
      'df-rating': f.ratingLabel(d.deployment_frequency.rating),
      'lt-value': f.formatDuration(d.lead_time.median_seconds),
      'lt-rating': f.ratingLabel(d.lead_time.rating),
      'cfr-value': f.formatPercent(d.change_failure_rate.percent),
      'cfr-rating': f.ratingLabel(d.change_failure_rate.rating),
      'ttr-value': f.formatDuration(d.time_to_restore.median_seconds),
      'ttr-rating': f.ratingLabel(d.time_to_restore.rating),
      'rework-value': f.formatPercent(d.rework_rate.percent),
      'rework-rating': f.ratingLabel(d.rework_rate.rating),
      'df-detail': f.plural(d.deployment_frequency.deployments, 'deployment', 'deployments'),
      'cfr-detail': `${f.formatCount(d.change_failure_rate.failed_deployments)} of ${f.plural(d.change_failure_rate.deployments, 'deployment', 'deployments')} failed`,
      'ttr-detail': f.plural(d.time_to_restore.incidents, 'incident', 'incidents'),
    };
  }, dora);
  for (const [testid, want] of Object.entries(expected)) {
    const shown = await text(testid);
    if (testid.endsWith('-detail')) {
      check(shown.includes(want), `${testid}: the page shows ${JSON.stringify(shown)}, expected it to include ${JSON.stringify(want)}`);
    } else {
      checkEqual(shown, want, testid);
    }
  }
  for (const [testid, rating] of [['df-rating', dora.deployment_frequency.rating], ['lt-rating', dora.lead_time.rating],
    ['cfr-rating', dora.change_failure_rate.rating], ['ttr-rating', dora.time_to_restore.rating],
    ['rework-rating', dora.rework_rate.rating]]) {
    checkEqual(await attr(testid, 'data-rating'), rating ?? '', `${testid} data-rating`);
  }

  // The daily chart draws the API's daily deployments.
  const bars = await page.$$eval('[data-testid="chart-deployments"] rect.bar.ok',
    (rs) => rs.map((r) => [r.dataset.day, Number(r.dataset.value)]));
  const apiBars = dora.daily.filter((d) => d.deployments > 0).map((d) => [d.day, d.deployments]);
  checkEqual(bars, apiBars, 'deployment bars (day, deployments)');

  // The deployments table lists the API's deployments, newest first, with
  // their change counts and lead times.
  const rows = await page.$$eval('[data-testid="deployments-table"] tr[data-deploy-id]', (trs) => trs.map((tr) => [
    tr.dataset.deployId,
    tr.querySelector('[data-testid="change-count"]').textContent.trim(),
    tr.querySelector('[data-testid="lead-time"]').textContent.trim(),
  ]));
  const apiRows = await page.evaluate(async (list) => {
    const f = await import('./page/format.js');
    return list.map((d) => [d.deploy_id, f.formatCount(d.change_count), f.formatDuration(d.lead_time_median_seconds)]);
  }, deps.deployments);
  checkEqual(rows, apiRows, 'deployments table (deploy_id, changes, lead time)');

  // A deployment's row opens on its changes.
  const withChanges = deps.deployments.find((d) => (d.changes ?? []).length > 0);
  check(withChanges, `no deployment of ${service} has changes: the test needs a filled database`);
  const row = page.locator(`tr[data-deploy-id="${withChanges.deploy_id}"]`);
  await row.locator('button.expand').click();
  const changeIds = await page.$$eval(`tr[data-deploy-id="${withChanges.deploy_id}"] + tr.detail-row tr[data-change-id]`,
    (trs) => trs.map((tr) => tr.dataset.changeId));
  checkEqual([...changeIds].sort(), withChanges.changes.map((c) => c.change_id).sort(),
    `changes shown for ${withChanges.deploy_id}`);
  check(await page.isVisible(`tr[data-deploy-id="${withChanges.deploy_id}"] + tr.detail-row`),
    'the opened changes are not visible');

  // The incidents table lists the API's incidents with their attribution.
  const incidentRows = await page.$$eval('[data-testid="incidents-table"] tr[data-incident-id]', (trs) => trs.map((tr) => [
    tr.dataset.incidentId, tr.querySelector('[data-attribution]').dataset.attribution,
  ]));
  checkEqual(incidentRows, incs.incidents.map((i) => [i.incident_id, i.attribution ?? '']),
    'incidents table (incident_id, attribution)');
}

async function screenshot() {
  mkdirSync(dirname(screenshotPath), { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true });
}

let failed = false;
try {
  await run();
  console.log(`page test passed in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshot: ${screenshotPath}`);
} catch (e) {
  failed = true;
  console.error(`FAIL: ${e instanceof CheckFailed ? e.message : e.stack ?? e}`);
  if (pageErrors.length) console.error(`errors in the page: ${pageErrors.join(' | ')}`);
  if (page) await screenshot().catch(() => {});
} finally {
  clearTimeout(watchdog);
  if (context) await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
