// Browser scenarios of the bacsc web console, run by
// tests/integration/test_web_browser.sh (which starts `bacsc web`, a CA, a site
// of devices, and checks the downloaded certificates with openssl).
// Playwright drives the system Chromium; any page error or console error fails
// the run, except the HTTP errors a scenario provokes on purpose.
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const URL = process.env.WEB_URL;
const DIR = process.env.WEB_DIR;
const SHOTS = process.env.SCREENSHOTS;
const PW = (u) => u + '-password';
let failures = 0;

function check(cond, what) {
  console.log((cond ? 'ok   ' : 'FAIL ') + what);
  if (!cond) failures++;
}

async function newUser(browser, expectedErrors) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true,
    viewport: { width: 1400, height: 900 } });
  const page = await ctx.newPage();
  page.errors = [];
  page.allow = expectedErrors || [];
  page.on('pageerror', (e) => page.errors.push('pageerror: ' + e.message));
  page.on('dialog', (d) => { page.errors.push('dialog: ' + d.message()); d.dismiss(); });
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const t = m.text();
    if (page.allow.some((re) => re.test(t))) return;
    page.errors.push('console: ' + t);
  });
  return page;
}

function noErrors(page, who) {
  check(page.errors.length === 0, `${who}: no page or console errors` +
    (page.errors.length ? ' — ' + page.errors.join(' | ') : ''));
}

async function login(page, user, password, expectFailure) {
  await page.goto(URL + '/');
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password || PW(user));
  await page.getByRole('button', { name: 'Log in' }).click();
  if (!expectFailure) await page.waitForFunction(() => document.getElementById('who')?.textContent !== '');
}

async function shot(page, name) {
  if (!SHOTS) return;
  await page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true });
}

async function upload(page, file) {
  await page.goto(URL + '/requests');
  await page.getByLabel('CARI request zip').setInputFiles(path.join(DIR, file));
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.waitForFunction(() => document.getElementById('upload-result')?.textContent !== '');
  return page.locator('#upload-result').textContent();
}

async function download(page, batch, out) {
  await page.goto(URL + '/requests');
  const link = page.locator('#download-' + batch);
  await link.waitFor();
  const [dl] = await Promise.all([page.waitForEvent('download'), link.click()]);
  await dl.saveAs(path.join(DIR, out));
}

function batchOf(text) {
  const m = /Batch (\d+)/.exec(text);
  return m ? parseInt(m[1], 10) : 0;
}

async function approvalScenarios(browser) {
  const admin = await newUser(browser);
  const ivan = await newUser(browser);
  await login(admin, 'alice');
  await login(ivan, 'ivan');

  // manual approval: the batch waits until an admin decides
  let text = await upload(ivan, 'manual.zip');
  const manual = batchOf(text);
  check(manual > 0 && /4 waiting for approval/.test(text), 'manual: the upload waits for approval (' + text + ')');
  const waiting = await ivan.locator(`[data-batch="${manual}"] >> text=waiting`).waitFor()
    .then(() => true, () => false);
  check(waiting, 'manual: the installer sees the batch waiting');
  await admin.goto(URL + '/requests');
  await admin.waitForSelector(`[data-request]`);
  const rows = admin.locator('#pending tbody tr');
  check(await rows.count() === 4, 'manual: the admin sees the 4 pending requests');
  check(await admin.locator('#pending td', { hasText: 'img src=x onerror=alert(1)' }).count() === 2,
    'a subject with markup is shown as text');
  check(await admin.locator('#pending img').count() === 0, 'no element was created from a subject');
  check(await admin.locator('#pending td', { hasText: 'acceptable' }).count() === 4,
    'the policy verdict is shown');
  await shot(admin, 'requests');
  await admin.getByLabel('select all pending').check();
  await admin.getByRole('button', { name: 'Approve selected' }).click();
  await admin.waitForFunction(() => /Pending requests \(0\)/.test(document.getElementById('pending')?.textContent));
  check(true, 'manual: the admin approves the batch through the page');
  await download(ivan, manual, 'manual-response.zip');
  check(fs.existsSync(path.join(DIR, 'manual-response.zip')), 'manual: the installer downloads the response');

  // automatic approval: the response is downloadable at once
  await admin.goto(URL + '/requests');
  await admin.getByLabel('Approval mode').selectOption('all');
  await admin.getByRole('button', { name: 'Save' }).click();
  await admin.waitForFunction(() => /automatic/.test(document.getElementById('toast')?.textContent));
  text = await upload(ivan, 'auto.zip');
  const auto = batchOf(text);
  check(auto > 0 && /3 issued/.test(text) && /ready to download/.test(text),
    'automatic: issued at once (' + text + ')');
  await download(ivan, auto, 'auto-response.zip');
  check(fs.existsSync(path.join(DIR, 'auto-response.zip')), 'automatic: the installer downloads the response');
  await admin.getByLabel('Approval mode').selectOption('off');
  await admin.getByRole('button', { name: 'Save' }).click();
  await admin.waitForFunction(() => /manual/.test(document.getElementById('toast')?.textContent));
  await shot(ivan, 'requests-installer');

  // certificates and audit pages
  await admin.goto(URL + '/certificates');
  await admin.waitForSelector('#expiry-chart rect.bar', { state: 'attached' });
  check(await admin.locator('#expiry-chart rect.bar').count() === 36, 'the expiry chart has 36 months');
  await shot(admin, 'certificates');
  await admin.goto(URL + '/audit');
  await admin.waitForSelector('table.grid tbody tr');
  check(await admin.locator('td', { hasText: 'alice from 127.0.0.1 (web)' }).count() > 0,
    'the audit page shows who did what from where');
  await shot(admin, 'audit');
  await admin.goto(URL + '/users');
  await admin.waitForSelector('table.grid');
  await shot(admin, 'users');
  noErrors(admin, 'admin');
  noErrors(ivan, 'installer');
  return { admin, ivan };
}

async function siteScenario(admin) {
  await admin.goto(URL + '/devices');
  await admin.waitForSelector('tr[data-instance]');
  const n = await admin.locator('tr[data-instance]').count();
  check(n >= 6, `the Devices page lists the ${n} discovered devices`);
  await shot(admin, 'devices');
  await admin.getByLabel('Status').selectOption('none');
  await admin.getByRole('button', { name: 'Filter', exact: true }).click();
  await admin.waitForSelector('#select-all-matching');
  await admin.locator('#select-all-matching').click();
  check(/6 selected/.test(await admin.locator('#selcount').textContent()), 'select all matching');
  await admin.getByLabel('Action').selectOption('request');
  await admin.getByRole('button', { name: 'Start job' }).click();
  await admin.waitForSelector('#job-detail');
  await admin.waitForFunction(() => document.getElementById('job-state')?.textContent === 'done',
    null, { timeout: 60000 });
  const counts = await admin.locator('#job-counts').textContent();
  check(/6 done/.test(counts), 'the request job started from the Devices page finishes (' + counts + ')');
  check(await admin.locator('#job-items tbody tr').count() === 6, 'per-device results are shown');
  await shot(admin, 'jobs');
  // the CSRs go to the CA (automatic approval), then the import job
  await admin.goto(URL + '/requests');
  await admin.getByLabel('Approval mode').selectOption('all');
  await admin.getByRole('button', { name: 'Save' }).click();
  await admin.waitForFunction(() => /automatic/.test(document.getElementById('toast')?.textContent));
  await admin.goto(URL + '/devices');
  await admin.getByLabel('Status').selectOption('csr-pending');
  await admin.getByRole('button', { name: 'Filter', exact: true }).click();
  await admin.locator('#select-all-matching').click();
  await admin.getByRole('button', { name: 'Send pending CSRs to the CA' }).click();
  await admin.waitForFunction(() => /Batch (\d+): 6 issued/.test(document.getElementById('toast')?.textContent));
  const batch = parseInt(/Batch (\d+)/.exec(await admin.locator('#toast').textContent())[1], 10);
  await admin.getByLabel('Action').selectOption('import');
  await admin.getByLabel('CA batch (import)').fill(String(batch));
  await admin.getByRole('button', { name: 'Start job' }).click();
  await admin.waitForSelector('#job-detail');
  await admin.waitForFunction(() => document.getElementById('job-state')?.textContent !== 'running',
    null, { timeout: 90000 });
  const state = await admin.locator('#job-state').textContent();
  check(state === 'done', 'the import job finishes (' + state + ': ' + await admin.locator('#job-counts').textContent() + ')');
  await admin.goto(URL + '/devices');
  await admin.waitForSelector('tr[data-instance]');
  check(await admin.locator('tr[data-instance] .s-valid').count() >= 6,
    'every device now holds a valid certificate from the site CA');
  await shot(admin, 'devices');
  await crlPushScenario(admin);
  await admin.goto(URL + '/jobs');
  await admin.waitForSelector('tr[data-job]');
  await shot(admin, 'jobs-list');
  noErrors(admin, 'admin (site)');
}

// CRL pushes from the Devices page, each after a confirmation (Cancel starts
// nothing): an uploaded CRL file (DER), then the CA's current (newer) CRL.
// Each job runs to the end on every device.
async function crlPush(admin, file, what) {
  await admin.getByRole('button', { name: 'Clear', exact: true }).click();
  await admin.waitForSelector('#select-all-matching');
  await admin.locator('#select-all-matching').click();
  if (file) await admin.getByLabel(/CRL file/).setInputFiles(path.join(DIR, file));
  await admin.getByRole('button', { name: 'Push CRL…' }).click();
  const ask = await admin.locator('#crl-confirm').textContent();
  check(new RegExp(`Push ${what} to \\d+ devices\\?`).test(ask), 'CRL push asks for a confirmation (' + ask + ')');
  await admin.getByRole('button', { name: 'Confirm CRL push' }).click();
  await admin.waitForSelector('#job-detail');
  check(/crl-push/.test(await admin.locator('#job-detail h2').textContent()), 'the CRL push job is shown');
  await admin.waitForFunction(() => document.getElementById('job-state')?.textContent !== 'running',
    null, { timeout: 90000 });
  const state = await admin.locator('#job-state').textContent();
  const counts = await admin.locator('#job-counts').textContent();
  const m = /(\d+) done, 0 failed.* of (\d+)/.exec(counts);
  check(state === 'done' && m && m[1] === m[2] && parseInt(m[1], 10) >= 6,
    `the push of ${what} started from the Devices page finishes on every device (${state}: ${counts})`);
  await admin.goto(URL + '/devices');
  await admin.waitForSelector('tr[data-instance]');
}

async function crlPushScenario(admin) {
  await admin.getByRole('button', { name: 'Clear', exact: true }).click();
  await admin.waitForSelector('#select-all-matching');
  await admin.locator('#select-all-matching').click();
  const jobs = async () => admin.evaluate(async () => (await (await fetch('/api/site/jobs')).json()).jobs.length);
  const before = await jobs();
  await admin.getByRole('button', { name: 'Push CRL…' }).click();
  await admin.getByRole('button', { name: 'Cancel', exact: true }).click();
  check(before === await jobs() && (await admin.locator('#crl-confirm').textContent()) === '',
    'CRL push: Cancel starts no job');
  await crlPush(admin, 'upload.crl', 'the CRL in upload.crl');
  await crlPush(admin, null, "the CA's current CRL");
}

async function viewerScenario(browser) {
  const vera = await newUser(browser, [/status of 403/]);
  await login(vera, 'vera');
  await vera.waitForSelector('#nav');
  await vera.goto(URL + '/requests');
  await vera.waitForSelector('#batches');
  check(await vera.locator('#upload-file').count() === 0, 'viewer: no upload form');
  check(await vera.getByRole('button', { name: 'Approve selected' }).count() === 0, 'viewer: no approve buttons');
  // the viewer calls the API directly, with the session and the CSRF token
  const res = await vera.evaluate(async () => {
    const s = await (await fetch('/api/session')).json();
    const q = await (await fetch('/api/ca/requests?state=all&limit=1')).json();
    const id = q.requests.length ? q.requests[0].id : 1;
    const r = await fetch(`/api/ca/requests/${id}/approve`, { method: 'POST', headers: { 'X-CSRF-Token': s.csrf } });
    const d = await fetch('/api/ca/requests/decide', { method: 'POST',
      headers: { 'X-CSRF-Token': s.csrf, 'Content-Type': 'application/json' },
      body: JSON.stringify({ action: 'approve', batch: 1 }) });
    const p = await fetch('/api/ca/policy', { method: 'PUT',
      headers: { 'X-CSRF-Token': s.csrf, 'Content-Type': 'application/json' },
      body: JSON.stringify({ auto_approve: 'all' }) });
    const c = await fetch('/api/site/jobs', { method: 'POST',
      headers: { 'X-CSRF-Token': s.csrf, 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'crl', filter: {} }) });
    return [r.status, d.status, p.status, c.status];
  });
  check(res.every((s) => s === 403), 'viewer: approve, bulk approve, policy and CRL push via the API are refused (' + res + ')');
  noErrors(vera, 'viewer');
}

async function lockoutScenario(browser) {
  const page = await newUser(browser, [/status of 401/, /status of 429/]);
  for (let i = 0; i < 5; i++) {
    await login(page, 'ivan', 'wrong-' + i, true);
    await page.waitForFunction(() => document.getElementById('login-error')?.textContent !== '');
  }
  await login(page, 'ivan', undefined, true);
  await page.waitForFunction(() => /too many failed logins/.test(document.getElementById('login-error')?.textContent));
  check(true, 'login lock-out: the right password is refused after 5 failures');
  await shot(page, 'login-locked');
  noErrors(page, 'lock-out');
}

async function bombScenario(browser) {
  const page = await newUser(browser, [/status of 422/]);
  await login(page, 'alice');
  await page.waitForSelector('#nav');
  const before = await page.evaluate(async () => (await (await fetch('/api/ca/requests?state=all&limit=1')).json()).total);
  const text = await upload(page, 'bomb.zip');
  check(/zip bomb/.test(text) && /nothing was stored/.test(text), 'zip bomb: refused with a named error (' + text + ')');
  const after = await page.evaluate(async () => (await (await fetch('/api/ca/requests?state=all&limit=1')).json()).total);
  check(before === after, 'zip bomb: nothing stored');
  noErrors(page, 'zip bomb');
}

async function loginShot(browser) {
  const page = await newUser(browser);
  await page.goto(URL + '/');
  await page.getByLabel('User name').waitFor();
  await shot(page, 'login');
  noErrors(page, 'login page');
}

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    await loginShot(browser);
    const { admin } = await approvalScenarios(browser);
    await siteScenario(admin);
    await viewerScenario(browser);
    await bombScenario(browser);
    await lockoutScenario(browser);
  } catch (e) {
    console.log('FAIL ' + (e.stack || e));
    failures++;
  } finally {
    await browser.close();
  }
  console.log(failures ? `${failures} browser check(s) failed` : 'all browser checks passed');
  process.exit(failures ? 1 : 0);
})();
