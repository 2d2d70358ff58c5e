// bacsc web console: a small front end with no build step (docs/design.md,
// "Web console"). Every page is drawn from the JSON API under /api/ with DOM
// calls only: text goes in with textContent, never as HTML, so every value
// is escaped by construction; the Content-Security-Policy allows no inline
// script or style.
'use strict';

const S = { user: null, role: null, csrf: null, ca: false, site: false };
const ROLE = { viewer: 1, installer: 2, admin: 3 };
const PAGES = {};
let cleanup = [];

// ---- DOM helpers -------------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'value') e.value = v;
    else if (k === 'checked') e.checked = !!v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svg(tag, attrs, ...children) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'text') e.textContent = v;
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c) e.append(c);
  return e;
}

function main() { return document.getElementById('main'); }

function toast(msg, bad) {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.className = bad ? 'show bad' : 'show';
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.className = ''; }, 6000);
}

function fmtTime(unix) {
  if (!unix) return '—';
  return new Date(unix * 1000).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

function fmtDate(unix) {
  if (!unix) return '—';
  return new Date(unix * 1000).toISOString().slice(0, 10);
}

function can(role) { return (ROLE[S.role] || 0) >= ROLE[role]; }

function field(label, input) {
  const id = input.id || ('f-' + Math.random().toString(36).slice(2));
  input.id = id;
  return el('span', { class: 'field' }, el('label', { for: id, text: label }), input);
}

function select(id, options, value) {
  const s = el('select', { id });
  for (const o of options) {
    const [v, t] = Array.isArray(o) ? o : [o, o];
    s.append(el('option', { value: v, text: t }));
  }
  if (value !== undefined && value !== null) s.value = value;
  return s;
}

// ---- API ------------------------------------------------------------------------

async function api(method, path, body, raw) {
  const headers = {};
  const init = { method, headers, credentials: 'same-origin' };
  if (method !== 'GET' && S.csrf) headers['X-CSRF-Token'] = S.csrf;
  if (raw) {
    headers['Content-Type'] = raw.type;
    if (raw.name) headers['X-File-Name'] = raw.name;
    init.body = raw.body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  let data = null;
  const ct = res.headers.get('Content-Type') || '';
  if (ct.startsWith('application/json')) data = await res.json();
  if (res.status === 401 && path !== '/api/login') {
    S.user = null;
    go('/login');
  }
  return { status: res.status, ok: res.ok, data };
}

function errorText(r) {
  return (r.data && r.data.error) ? r.data.error : ('HTTP ' + r.status);
}

// ---- navigation ----------------------------------------------------------------

function defaultPage() {
  return S.site ? '/devices' : '/requests';
}

function go(path) {
  if (location.pathname + location.search !== path) history.pushState(null, '', path);
  render();
}

async function render() {
  for (const f of cleanup) f();
  cleanup = [];
  let page = location.pathname.replace(/^\//, '') || '';
  if (!S.user && page !== 'login') {
    const r = await api('GET', '/api/session');
    if (r.ok && r.data && r.data.authenticated) {
      Object.assign(S, { user: r.data.user, role: r.data.role, csrf: r.data.csrf,
        ca: r.data.ca, site: r.data.site });
    } else {
      if (r.data) { S.ca = r.data.ca; S.site = r.data.site; }
      history.replaceState(null, '', '/login');
      page = 'login';
    }
  }
  if (S.user && (page === '' || page === 'login')) {
    history.replaceState(null, '', defaultPage());
    page = defaultPage().slice(1);
  }
  drawHeader(page);
  const m = main();
  m.replaceChildren();
  const fn = PAGES[page];
  if (!fn) {
    m.append(el('h1', { text: 'Not found' }));
    return;
  }
  document.title = 'bacsc — ' + page;
  await fn(m, new URLSearchParams(location.search));
  // for bench/web_render.js: when the page's data was first painted
  requestAnimationFrame(() => setTimeout(() => performance.mark('rendered:' + page), 0));
}

function drawHeader(page) {
  const nav = document.getElementById('nav');
  nav.hidden = !S.user;
  for (const a of nav.querySelectorAll('a')) {
    const p = a.dataset.page;
    const need = a.dataset.role;
    const show = S.user && (!need || can(need)) &&
      !(p === 'devices' && !S.site) && !(p === 'jobs' && !S.site) &&
      !(p === 'certificates' && !S.ca) && !(p === 'requests' && !S.ca);
    a.hidden = !show;
    if (p === page) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.getElementById('who').textContent = S.user ? S.user + ' (' + S.role + ')' : '';
  document.getElementById('logout').hidden = !S.user;
}

// ---- login -------------------------------------------------------------------------

PAGES.login = async (m) => {
  const user = el('input', { id: 'login-user', autocomplete: 'username', required: true });
  const pw = el('input', { id: 'login-password', type: 'password',
    autocomplete: 'current-password', required: true });
  const err = el('p', { id: 'login-error', class: 'error', role: 'alert' });
  const form = el('form', { class: 'login', onsubmit: async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const r = await api('POST', '/api/login', { user: user.value, password: pw.value });
    if (!r.ok) {
      err.textContent = errorText(r);
      return;
    }
    Object.assign(S, { user: r.data.user, role: r.data.role, csrf: r.data.csrf });
    const s = await api('GET', '/api/session');
    if (s.ok && s.data) { S.ca = s.data.ca; S.site = s.data.site; }
    go(defaultPage());
  } },
  el('h1', { text: 'Log in to the bacsc console' }),
  field('User name', user), field('Password', pw),
  el('button', { type: 'submit', text: 'Log in' }), err);
  m.append(form);
  user.focus();
};

async function logout() {
  await api('POST', '/api/logout', {});
  Object.assign(S, { user: null, role: null, csrf: null });
  go('/login');
}

// ---- shared widgets -----------------------------------------------------------------

function table(columns, rows, opts) {
  const head = el('tr', {}, columns.map((c) => {
    const th = el('th', { scope: 'col' });
    if (c.sort && opts && opts.onSort) {
      const mark = opts.sort === c.sort ? (opts.order === 'desc' ? ' ▼' : ' ▲') : '';
      th.append(el('button', { type: 'button', class: 'link', text: c.title + mark,
        onclick: () => opts.onSort(c.sort) }));
    } else if (c.head) {
      th.append(c.head);
    } else {
      th.textContent = c.title;
    }
    return th;
  }));
  const body = el('tbody', {}, rows.map((r) => el('tr', opts && opts.rowAttrs ? opts.rowAttrs(r) : {},
    columns.map((c) => {
      const v = c.cell(r);
      return el('td', { class: c.cls || null }, v instanceof Node ? v : (v === undefined || v === null ? '' : String(v)));
    }))));
  return el('table', { class: 'grid' }, el('thead', {}, head), body);
}

function pager(offset, limit, matched, onPage) {
  const last = Math.min(offset + limit, matched);
  return el('div', { class: 'pager' },
    el('button', { type: 'button', text: '‹ Previous', disabled: offset === 0 ? true : null,
      onclick: () => onPage(Math.max(0, offset - limit)) }),
    el('span', { class: 'muted', text: matched ? `${offset + 1}–${last} of ${matched}` : 'none' }),
    el('button', { type: 'button', text: 'Next ›', disabled: last >= matched ? true : null,
      onclick: () => onPage(offset + limit) }));
}

function statusBadge(s) {
  return el('span', { class: 'badge s-' + s, text: s });
}

function progressBar(j) {
  const fin = (j.done || 0) + (j.failed || 0) + (j.skipped || 0);
  return el('progress', { max: j.total || 1, value: fin,
    'aria-label': `job ${j.id}: ${fin} of ${j.total} finished` });
}

// ---- devices --------------------------------------------------------------------------

const devState = { offset: 0, limit: 100, sort: 'instance', order: 'asc', status: '',
  mode: '', expiring: '', q: '', selected: new Set(), allMatching: false };

// A page opened directly on /devices asks for its first rows while the
// session is being checked, not after (one round trip less to first render).
let devPrefetch = null;
if (location.pathname === '/devices') {
  devPrefetch = { qs: 'offset=0&limit=100&sort=instance&order=asc',
    res: fetch('/api/site/devices?offset=0&limit=100&sort=instance&order=asc', { credentials: 'same-origin' })
      .then(async (res) => ({ status: res.status, ok: res.ok, data: res.ok ? await res.json() : null }))
      .catch(() => null) };
}

async function devicesFetch(qs) {
  const p = devPrefetch;
  devPrefetch = null;
  if (p && p.qs === qs.toString()) {
    const r = await p.res;
    if (r && r.ok) return r;
  }
  return api('GET', '/api/site/devices?' + qs);
}

PAGES.devices = async (m) => {
  if (!S.site) { m.append(el('p', { text: 'This console serves no site.' })); return; }
  const st = devState;
  const qs = new URLSearchParams({ offset: st.offset, limit: st.limit, sort: st.sort, order: st.order });
  for (const k of ['status', 'mode', 'expiring', 'q']) if (st[k]) qs.set(k, st[k]);
  const t0 = performance.now();
  const r = await devicesFetch(qs);
  const head = el('div', { class: 'pagehead' }, el('h1', { text: 'Devices' }));
  if (r.ok) {
    head.append(el('p', { class: 'muted', text: `${r.data.total} devices` }));
    head.append(el('div', { class: 'chips' }, Object.entries(r.data.counts.status)
      .filter(([, n]) => n > 0).map(([k, n]) => el('button', { type: 'button', class: 'chip s-' + k,
        text: `${k}: ${n}`, onclick: () => { st.status = k; st.offset = 0; clearSel(); render(); } }))));
  }
  m.append(head);

  const fStatus = select('f-status', [['', 'any'], 'none', 'csr-pending', 'valid', 'expiring',
    'expired', 'signed-by-another-CA'], st.status);
  const fMode = select('f-mode', [['', 'any'], 'unknown', 'ip', 'dual', 'sc'], st.mode);
  const fExp = el('input', { id: 'f-expiring', type: 'number', min: 1, max: 36500,
    value: st.expiring, placeholder: 'days' });
  const fQ = el('input', { id: 'f-q', type: 'search', value: st.q, placeholder: 'name, UUID, address' });
  m.append(el('form', { class: 'filters', onsubmit: (ev) => {
    ev.preventDefault();
    Object.assign(st, { status: fStatus.value, mode: fMode.value, expiring: fExp.value,
      q: fQ.value, offset: 0 });
    clearSel();
    render();
  } }, field('Status', fStatus), field('Mode', fMode), field('Expiring within', fExp),
  field('Search', fQ), el('button', { type: 'submit', text: 'Filter' }),
  el('button', { type: 'button', class: 'secondary', text: 'Clear', onclick: () => {
    Object.assign(st, { status: '', mode: '', expiring: '', q: '', offset: 0 });
    clearSel();
    render();
  } })));

  if (!r.ok) { m.append(el('p', { class: 'error', text: errorText(r) })); return; }
  const d = r.data;
  const bar = el('div', { class: 'selbar', id: 'selbar' });
  const drawBar = () => selectionBar(bar, d);
  const pageBox = el('input', { type: 'checkbox', 'aria-label': 'select this page',
    onchange: (ev) => {
      st.allMatching = false;
      for (const x of d.devices) ev.target.checked ? st.selected.add(x.instance) : st.selected.delete(x.instance);
      for (const c of m.querySelectorAll('input.rowsel')) c.checked = ev.target.checked;
      drawBar();
    } });
  const cols = [
    { title: '', head: pageBox, cell: (x) => el('input', { type: 'checkbox', class: 'rowsel',
      'aria-label': 'select device ' + x.instance, checked: st.allMatching || st.selected.has(x.instance),
      onchange: (ev) => {
        if (st.allMatching) { st.allMatching = false; }
        ev.target.checked ? st.selected.add(x.instance) : st.selected.delete(x.instance);
        drawBar();
      } }) },
    { title: 'Instance', sort: 'instance', cell: (x) => x.instance, cls: 'num' },
    { title: 'Name', sort: 'name', cell: (x) => x.name },
    { title: 'Device UUID', cell: (x) => x.uuid, cls: 'mono' },
    { title: 'Mode', sort: 'mode', cell: (x) => x.mode },
    { title: 'Certificate', sort: 'status', cell: (x) => statusBadge(x.status) },
    { title: 'Expires', sort: 'expiry', cell: (x) => fmtDate(x.expires) },
    { title: 'Issuer', cell: (x) => x.issuer },
    { title: 'Address', cell: (x) => x.address, cls: 'mono' },
  ];
  m.append(bar);
  m.append(table(cols, d.devices, { sort: st.sort, order: st.order, onSort: (k) => {
    if (st.sort === k) st.order = st.order === 'asc' ? 'desc' : 'asc';
    else { st.sort = k; st.order = 'asc'; }
    render();
  }, rowAttrs: (x) => ({ 'data-instance': x.instance }) }));
  m.append(pager(d.offset, d.limit, d.matched, (o) => { st.offset = o; render(); }));
  m.append(el('p', { class: 'muted small', id: 'devices-timing',
    text: `${d.matched} matching of ${d.total}; loaded in ${Math.round(performance.now() - t0)} ms` }));
  drawBar();
};

function clearSel() { devState.selected.clear(); devState.allMatching = false; }

function currentFilter() {
  const f = {};
  for (const k of ['status', 'mode', 'q']) if (devState[k]) f[k] = devState[k];
  if (devState.expiring) f.expiring = parseInt(devState.expiring, 10);
  return f;
}

function selectionBar(bar, d) {
  const st = devState;
  const n = st.allMatching ? d.matched : st.selected.size;
  bar.replaceChildren();
  bar.append(el('span', { id: 'selcount', text: `${n} selected` }));
  if (!st.allMatching && d.matched > 0) {
    bar.append(el('button', { type: 'button', class: 'link', id: 'select-all-matching',
      text: `Select all ${d.matched} matching`, onclick: () => {
        st.allMatching = true;
        for (const c of document.querySelectorAll('input.rowsel')) c.checked = true;
        selectionBar(bar, d);
      } }));
  }
  if (!can('installer')) return;
  const kinds = [['request', 'Request certificates (new CSR)'], ['renew', 'Renew (new key and CSR)'],
    ['import', 'Import certificates of CA batch…'], ['mode-sc', 'Switch to BACnet/SC'],
    ['mode-dual', 'Switch to dual (IP + SC)'], ['mode-ip', 'Switch back to BACnet/IP']];
  if (can('admin')) kinds.push(['trust-add', 'Trust the site CA'], ['trust-remove', 'Remove the site CA']);
  const action = select('job-kind', kinds);
  const batch = el('input', { id: 'job-batch', type: 'number', min: 1, placeholder: 'batch' });
  const start = el('button', { type: 'button', id: 'start-job', text: 'Start job',
    disabled: n === 0 && action.value !== 'import' ? true : null, onclick: async () => {
      const sel = st.allMatching ? { filter: currentFilter() } : { devices: [...st.selected] };
      const a = action.value;
      let body;
      if (a === 'import') body = { kind: 'import', batch: parseInt(batch.value, 10) };
      else if (a.startsWith('mode-')) body = Object.assign({ kind: 'mode', mode: a.slice(5) }, sel);
      else if (a.startsWith('trust-')) body = Object.assign({ kind: 'trust', action: a.slice(6) }, sel);
      else body = Object.assign({ kind: a }, sel);
      const r = await api('POST', '/api/site/jobs', body);
      if (!r.ok) { toast(errorText(r), true); return; }
      toast(`Job ${r.data.id} started on ${r.data.total} devices`);
      clearSel();
      go('/jobs?job=' + r.data.id);
    } });
  bar.append(field('Action', action), field('CA batch (import)', batch), start);
  if (S.ca) {
    bar.append(el('button', { type: 'button', class: 'secondary', id: 'send-csrs',
      text: 'Send pending CSRs to the CA', disabled: n === 0 ? true : null, onclick: async () => {
        const sel = st.allMatching ? { filter: currentFilter() } : { devices: [...st.selected] };
        const r = await api('POST', '/api/site/csrs', sel);
        if (!r.ok) { toast(errorText(r), true); return; }
        toast(`Batch ${r.data.batch}: ${r.data.issued} issued, ${r.data.pending} waiting for approval`);
      } }));
  }
  if (can('admin')) crlPushButton(bar, n);
}

// A CRL file as PEM text (a DER file is armoured here; the server checks it).
async function crlText(f) {
  const buf = await f.arrayBuffer();
  const text = new TextDecoder().decode(buf);
  if (text.includes('-----BEGIN X509 CRL-----')) return text;
  const b = base64(buf).replace(/.{1,64}/g, '$&\n');
  return '-----BEGIN X509 CRL-----\n' + b + '-----END X509 CRL-----\n';
}

// A CRL to the selected devices (a crl-push job): the uploaded file, else
// the CA's current CRL; after an in-page confirmation.
function crlPushButton(bar, n) {
  const st = devState;
  const file = el('input', { id: 'crl-file', type: 'file', accept: '.crl,.pem,.der' });
  const ask = el('span', { id: 'crl-confirm', role: 'alert' });
  bar.append(field(S.ca ? 'CRL file (default: the CA\'s current CRL)' : 'CRL file', file));
  bar.append(el('button', { type: 'button', class: 'secondary', id: 'push-crl', text: 'Push CRL…',
    disabled: n === 0 ? true : null, onclick: () => {
      const f = file.files[0];
      if (!f && !S.ca) { toast('Choose a CRL file first (this console serves no CA).', true); return; }
      const what = f ? `the CRL in ${f.name}` : "the CA's current CRL";
      ask.replaceChildren(
        ` Push ${what} to ${n} device${n === 1 ? '' : 's'}? They refuse revoked certificates from then on. `,
        el('button', { type: 'button', class: 'danger', id: 'push-crl-confirm', text: 'Confirm CRL push',
          onclick: async () => {
            const sel = st.allMatching ? { filter: currentFilter() } : { devices: [...st.selected] };
            const body = Object.assign({ kind: 'crl' }, sel);
            if (f) body.crl = await crlText(f);
            const r = await api('POST', '/api/site/jobs', body);
            ask.replaceChildren();
            if (!r.ok) { toast(errorText(r), true); return; }
            toast(`CRL push: job ${r.data.id} started on ${r.data.total} devices`);
            clearSel();
            go('/jobs?job=' + r.data.id);
          } }),
        ' ',
        el('button', { type: 'button', class: 'secondary', id: 'push-crl-cancel', text: 'Cancel',
          onclick: () => ask.replaceChildren() }));
    } }), ask);
}

// ---- jobs ---------------------------------------------------------------------------------

function watchJob(id, onUpdate, onDone) {
  const es = new EventSource(`/api/site/jobs/${id}/events`);
  es.onmessage = (ev) => onUpdate(JSON.parse(ev.data));
  es.addEventListener('done', (ev) => { es.close(); onUpdate(JSON.parse(ev.data)); if (onDone) onDone(); });
  es.addEventListener('gone', () => es.close());
  es.onerror = () => { /* the browser reconnects by itself */ };
  cleanup.push(() => es.close());
  return es;
}

function jobCounts(j) {
  return `${j.done} done, ${j.failed} failed, ${j.skipped} no action, ${j.pending} pending of ${j.total}`;
}

PAGES.jobs = async (m, params) => {
  if (!S.site) { m.append(el('p', { text: 'This console serves no site.' })); return; }
  m.append(el('div', { class: 'pagehead' }, el('h1', { text: 'Jobs' })));
  const id = parseInt(params.get('job') || '0', 10);
  if (id) await jobDetail(m, id);
  const r = await api('GET', '/api/site/jobs');
  if (!r.ok) { m.append(el('p', { class: 'error', text: errorText(r) })); return; }
  m.append(el('h2', { text: 'All jobs' }));
  const rows = r.data.jobs;
  const cols = [
    { title: 'Job', cell: (j) => el('a', { href: '/jobs?job=' + j.id, text: '#' + j.id,
      onclick: (ev) => { ev.preventDefault(); go('/jobs?job=' + j.id); } }) },
    { title: 'Kind', cell: (j) => j.kind + (j.args && j.args.mode ? ' ' + j.args.mode : '') },
    { title: 'State', cell: (j) => el('span', { class: 'badge j-' + j.state, 'data-state': j.id, text: j.state }) },
    { title: 'Progress', cell: (j) => el('span', { 'data-progress': j.id }, progressBar(j)) },
    { title: 'Devices', cell: (j) => el('span', { 'data-counts': j.id, text: jobCounts(j) }) },
    { title: 'Started', cell: (j) => fmtTime(j.started) },
    { title: 'Finished', cell: (j) => fmtTime(j.finished) },
  ];
  m.append(table(cols, rows, { rowAttrs: (j) => ({ 'data-job': j.id }) }));
  for (const j of rows.filter((x) => x.state === 'running').slice(0, 8)) {
    if (j.id === id) continue; // the detail view watches it already
    watchJob(j.id, (u) => updateJobRow(m, u));
  }
};

function updateJobRow(m, u) {
  const p = m.querySelector(`[data-progress="${u.id}"]`);
  if (p) p.replaceChildren(progressBar(u));
  const c = m.querySelector(`[data-counts="${u.id}"]`);
  if (c) c.textContent = jobCounts(u);
  const s = m.querySelector(`[data-state="${u.id}"]`);
  if (s) { s.textContent = u.state; s.className = 'badge j-' + u.state; }
}

async function jobDetail(m, id) {
  const box = el('section', { class: 'card', id: 'job-detail', 'aria-live': 'polite' });
  m.append(box);
  const r = await api('GET', `/api/site/jobs/${id}`);
  if (!r.ok) { box.append(el('p', { class: 'error', text: errorText(r) })); return; }
  const j = r.data;
  const state = el('span', { id: 'job-state', class: 'badge j-' + j.state, text: j.state });
  const bar = el('span', { id: 'job-progress' }, progressBar(j));
  const counts = el('span', { id: 'job-counts', text: jobCounts(j) });
  const items = el('div', { id: 'job-items' });
  box.append(el('h2', {}, `Job #${j.id}: ${j.kind} `, state), bar, ' ', counts, items);
  const drawItems = (job) => {
    items.replaceChildren();
    const cols = [
      { title: 'Device', cell: (i) => i.device, cls: 'num' },
      { title: 'Result', cell: (i) => statusBadge(i.status) },
      { title: 'Step', cell: (i) => i.step },
      { title: 'Error', cell: (i) => i.error },
      { title: 'Attempts', cell: (i) => i.attempts, cls: 'num' },
    ];
    items.append(table(cols, job.items.slice(0, 500)));
    if (job.items.length > 500) items.append(el('p', { class: 'muted', text: `first 500 of ${job.items.length}` }));
    if (job.failed > 0 && job.state !== 'running' && can('installer')) {
      items.append(el('button', { type: 'button', id: 'rerun-failed', text: `Rerun the ${job.failed} failed devices`,
        onclick: async () => {
          const x = await api('POST', `/api/site/jobs/${job.id}/rerun`, {});
          if (!x.ok) { toast(errorText(x), true); return; }
          go('/jobs?job=' + x.data.id);
        } }));
    }
  };
  drawItems(j);
  if (j.state === 'running') {
    watchJob(id, (u) => {
      bar.replaceChildren(progressBar(u));
      counts.textContent = jobCounts(u);
      state.textContent = u.state;
      state.className = 'badge j-' + u.state;
      updateJobRow(m, u);
    }, async () => {
      const f = await api('GET', `/api/site/jobs/${id}`);
      if (f.ok) { state.textContent = f.data.state; state.className = 'badge j-' + f.data.state; drawItems(f.data); }
    });
  }
}

// ---- certificates -----------------------------------------------------------------------

function timelineChart(t) {
  const W = 960, H = 280, L = 44, B = 52, T = 16;
  const max = Math.max(1, ...t.months.map((x) => x.count));
  const bw = (W - L - 10) / t.months.length;
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart', id: 'expiry-chart',
    'aria-label': 'Certificates expiring per month over the next three years' });
  chart.append(svg('title', { text: 'Certificates expiring per month (next 36 months)' }));
  const y = (v) => H - B - (v / max) * (H - B - T);
  for (let i = 0; i <= 4; i++) {
    const v = Math.round((max * i) / 4);
    chart.append(svg('line', { x1: L, x2: W - 10, y1: y(v), y2: y(v), class: 'gridline' }));
    chart.append(svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis', text: String(v) }));
  }
  t.months.forEach((mo, i) => {
    const x = L + i * bw;
    const bar = svg('rect', { x: x + 2, y: y(mo.count), width: Math.max(1, bw - 4),
      height: Math.max(0, H - B - y(mo.count)), class: 'bar' });
    bar.append(svg('title', { text: `${mo.month}: ${mo.count}` }));
    chart.append(bar);
    if (mo.count > 0) chart.append(svg('text', { x: x + bw / 2, y: y(mo.count) - 3, 'text-anchor': 'middle', class: 'val', text: String(mo.count) }));
    if (i % 3 === 0) chart.append(svg('text', { x: x + bw / 2, y: H - B + 16, 'text-anchor': 'middle', class: 'axis', text: mo.month }));
  });
  chart.append(svg('text', { x: L, y: H - 8, class: 'axis', text: `later: ${t.later}   valid: ${t.valid}   expired: ${t.expired}   revoked: ${t.revoked}` }));
  return chart;
}

const certState = { offset: 0, state: 'valid', q: '' };

PAGES.certificates = async (m) => {
  if (!S.ca) { m.append(el('p', { text: 'This console serves no CA.' })); return; }
  const head = el('div', { class: 'pagehead' }, el('h1', { text: 'Certificates' }));
  if (can('admin')) head.append(el('a', { href: '/api/ca/crl', download: 'ca.crl', class: 'button', text: 'Download CRL' }));
  m.append(head);
  const t = await api('GET', '/api/ca/certificates/timeline');
  if (t.ok) m.append(el('section', { class: 'card' }, el('h2', { text: 'Expiry timeline' }), timelineChart(t.data)));
  const st = certState;
  const fState = select('c-state', ['valid', 'expired', 'revoked', 'all'], st.state);
  const fQ = el('input', { id: 'c-q', type: 'search', value: st.q, placeholder: 'subject, serial, UUID' });
  m.append(el('form', { class: 'filters', onsubmit: (ev) => {
    ev.preventDefault();
    Object.assign(st, { state: fState.value, q: fQ.value, offset: 0 });
    render();
  } }, field('State', fState), field('Search', fQ), el('button', { type: 'submit', text: 'Filter' })));
  const qs = new URLSearchParams({ state: st.state, offset: st.offset, limit: 100 });
  if (st.q) qs.set('q', st.q);
  const r = await api('GET', '/api/ca/certificates?' + qs);
  if (!r.ok) { m.append(el('p', { class: 'error', text: errorText(r) })); return; }
  const cols = [
    { title: 'Serial', cell: (c) => c.serial, cls: 'mono' },
    { title: 'Subject', cell: (c) => c.subject },
    { title: 'Device UUID', cell: (c) => c.device_uuid, cls: 'mono' },
    { title: 'Expires', cell: (c) => fmtDate(c.not_after) },
    { title: 'State', cell: (c) => statusBadge(c.state) },
    { title: 'Batch', cell: (c) => c.batch, cls: 'num' },
  ];
  if (can('admin')) {
    cols.push({ title: 'Revoke', cell: (c) => c.state === 'revoked' ? (c.revocation_reason || '') :
      el('span', {}, select('why-' + c.serial, ['keyCompromise', 'superseded', 'cessationOfOperation', 'unspecified']),
        el('button', { type: 'button', class: 'danger', text: 'Revoke', onclick: async () => {
          const why = document.getElementById('why-' + c.serial).value;
          const x = await api('POST', `/api/ca/certificates/${c.serial}/revoke`, { reason: why });
          if (!x.ok) { toast(errorText(x), true); return; }
          toast('Revoked ' + c.serial);
          render();
        } })) });
  }
  m.append(table(cols, r.data.certificates));
  m.append(pager(r.data.offset, r.data.limit, r.data.total, (o) => { st.offset = o; render(); }));
};

// ---- requests --------------------------------------------------------------------------------

function base64(buf) {
  const bytes = new Uint8Array(buf);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function uploadSection() {
  const file = el('input', { id: 'upload-file', type: 'file', accept: '.zip,application/zip' });
  const folder = el('input', { id: 'upload-folder', type: 'file', multiple: true, webkitdirectory: true });
  const out = el('p', { id: 'upload-result', role: 'status' });
  const form = el('form', { class: 'card', onsubmit: async (ev) => {
    ev.preventDefault();
    out.textContent = '';
    out.className = '';
    const f = file.files[0];
    const csrs = [...folder.files].filter((x) => /\.(csr|pem|der|req)$/i.test(x.name));
    if (!f && !csrs.length) { out.textContent = 'Choose a CARI request zip or a folder of CSR files first.'; return; }
    let r;
    if (f) {
      r = await api('POST', '/api/ca/requests', undefined, { type: 'application/zip', name: f.name, body: f });
    } else {
      const files = [];
      for (const x of csrs) files.push({ name: x.webkitRelativePath || x.name, data: base64(await x.arrayBuffer()) });
      r = await api('POST', '/api/ca/requests', { files });
    }
    file.value = '';
    folder.value = '';
    if (!r.ok) {
      out.className = 'error';
      out.textContent = errorText(r);
      return;
    }
    const d = r.data;
    out.textContent = `Batch ${d.batch}: ${d.requests.length} requests — ${d.issued} issued, ` +
      `${d.pending} waiting for approval, ${d.rejected} rejected.` +
      (d.response_ready ? ' The response is ready to download.' : '');
    refreshRequests();
  } }, el('h2', { text: 'Upload a certificate request' }),
  field('CARI request zip', file), field('or a folder of CSR files', folder),
  el('button', { type: 'submit', id: 'upload', text: 'Upload' }), out);
  return form;
}

async function approvalSection() {
  const p = await api('GET', '/api/ca/policy');
  if (!p.ok) return el('p', { class: 'error', text: errorText(p) });
  const mode = select('approval-mode', [['off', 'manual: an administrator decides each request'],
    ['all', 'automatic: every request the policy accepts is issued at once'],
    ['match', 'automatic for the listed console accounts and tokens only']], p.data.auto_approve);
  const origins = el('input', { id: 'approval-submitters', value: (p.data.auto_approve_submitters || []).join(','),
    placeholder: 'account:ivan,token:ivan' });
  const box = el('form', { class: 'card', onsubmit: async (ev) => {
    ev.preventDefault();
    const body = { auto_approve: mode.value };
    if (mode.value === 'match') body.auto_approve_submitters = origins.value;
    const r = await api('PUT', '/api/ca/policy', body);
    if (!r.ok) { toast(errorText(r), true); return; }
    toast('Approval is now ' + r.data.approval);
  } }, el('h2', { text: 'Approval' }),
  el('p', { class: 'muted', text: `Currently ${p.data.approval}. Automatic approval rests on who uploaded ` +
    '(the console account), never on what the zip claims.' }),
  field('Approval mode', mode), field('Submitters for automatic approval', origins),
  el('button', { type: 'submit', id: 'save-approval', text: 'Save' }));
  return box;
}

let refreshRequests = () => {};

PAGES.requests = async (m) => {
  if (!S.ca) { m.append(el('p', { text: 'This console serves no CA.' })); return; }
  m.append(el('div', { class: 'pagehead' }, el('h1', { text: 'Requests' })));
  if (can('installer')) m.append(uploadSection());
  if (can('admin')) m.append(await approvalSection());
  const pending = el('section', { class: 'card', id: 'pending' });
  const batches = el('section', { class: 'card', id: 'batches' });
  m.append(pending, batches);
  refreshRequests = async () => {
    await drawPending(pending);
    await drawBatches(batches);
  };
  await refreshRequests();
};

async function drawPending(box) {
  const r = await api('GET', '/api/ca/requests?state=pending&limit=500');
  box.replaceChildren(el('h2', { text: `Pending requests (${r.ok ? r.data.total : '?'})` }));
  if (!r.ok) { box.append(el('p', { class: 'error', text: errorText(r) })); return; }
  const sel = new Set();
  const admin = can('admin');
  const cols = [];
  if (admin) {
    cols.push({ title: '', head: el('input', { type: 'checkbox', 'aria-label': 'select all pending', onchange: (ev) => {
      for (const c of box.querySelectorAll('input.reqsel')) { c.checked = ev.target.checked; c.dispatchEvent(new Event('change')); }
    } }), cell: (q) => el('input', { type: 'checkbox', class: 'reqsel', 'aria-label': 'select request ' + q.id,
      onchange: (ev) => { ev.target.checked ? sel.add(q.id) : sel.delete(q.id); } }) });
  }
  cols.push(
    { title: 'Id', cell: (q) => q.id, cls: 'num' },
    { title: 'Batch', cell: (q) => q.batch, cls: 'num' },
    { title: 'Subject', cell: (q) => q.subject },
    { title: 'Device UUID', cell: (q) => q.device_uuid, cls: 'mono' },
    { title: 'SANs', cell: (q) => q.sans ? `uuid ${q.sans.uuid}, dns ${q.sans.dns}, ip ${q.sans.ip}, other ${q.sans.other}` : '' },
    { title: 'Key', cell: (q) => q.key_type || '' },
    { title: 'Claimed device (unverified)', cell: (q) => [q.device_name_claimed, q.device_instance_claimed].filter((x) => x !== undefined).join(' / ') },
    { title: 'Policy verdict', cell: (q) => q.verdict || '' });
  if (admin) {
    cols.push({ title: 'Decide', cell: (q) => el('span', { class: 'actions' },
      el('button', { type: 'button', text: 'Approve', 'aria-label': 'approve request ' + q.id, onclick: () => decideOne(q.id, 'approve') }),
      el('button', { type: 'button', class: 'danger', text: 'Reject', 'aria-label': 'reject request ' + q.id, onclick: () => decideOne(q.id, 'reject') })) });
  }
  box.append(table(cols, r.data.requests, { rowAttrs: (q) => ({ 'data-request': q.id }) }));
  if (admin && r.data.requests.length) {
    const reason = el('input', { id: 'reject-reason', placeholder: 'reason for rejecting' });
    const bulk = async (action) => {
      if (!sel.size) { toast('Select requests first', true); return; }
      const x = await api('POST', '/api/ca/requests/decide', { action, ids: [...sel], reason: reason.value || undefined });
      if (!x.ok) { toast(errorText(x), true); return; }
      toast(`${x.data.decided} requests ${action === 'approve' ? 'approved' : 'rejected'}`);
      refreshRequests();
    };
    box.append(el('div', { class: 'bulk' },
      el('button', { type: 'button', id: 'approve-selected', text: 'Approve selected', onclick: () => bulk('approve') }),
      field('Reason', reason),
      el('button', { type: 'button', class: 'danger', id: 'reject-selected', text: 'Reject selected', onclick: () => bulk('reject') })));
  }
}

async function decideOne(id, action) {
  const r = await api('POST', `/api/ca/requests/${id}/${action}`, action === 'reject' ? {} : undefined);
  if (!r.ok) { toast(errorText(r), true); return; }
  toast(`Request ${id}: ${action === 'approve' ? 'approved' : 'rejected'}`);
  refreshRequests();
}

async function drawBatches(box) {
  const r = await api('GET', '/api/ca/batches');
  box.replaceChildren(el('h2', { text: 'Batches' }));
  if (!r.ok) { box.append(el('p', { class: 'error', text: errorText(r) })); return; }
  const cols = [
    { title: 'Batch', cell: (b) => b.id, cls: 'num' },
    { title: 'File', cell: (b) => b.file },
    { title: 'Uploaded by', cell: (b) => b.owner || b.origin },
    { title: 'Uploaded', cell: (b) => fmtTime(b.created) },
    { title: 'Requests', cell: (b) => b.requests, cls: 'num' },
    { title: 'Pending', cell: (b) => b.pending, cls: 'num' },
    { title: 'Issued', cell: (b) => b.issued, cls: 'num' },
    { title: 'Rejected', cell: (b) => b.rejected, cls: 'num' },
    { title: 'Response', cell: (b) => b.response_ready ?
      el('a', { href: `/api/ca/batches/${b.id}/response`, download: `batch-${b.id}-response.zip`,
        class: 'button', id: 'download-' + b.id, text: 'Download' }) : el('span', { class: 'muted', text: 'waiting' }) },
  ];
  box.append(table(cols, r.data.batches, { rowAttrs: (b) => ({ 'data-batch': b.id }) }));
}

// ---- audit ------------------------------------------------------------------------------------

const auditState = { log: 'ca', q: '' };

PAGES.audit = async (m) => {
  m.append(el('div', { class: 'pagehead' }, el('h1', { text: 'Audit log' })));
  const st = auditState;
  if (!S.ca) st.log = 'console';
  const logSel = select('audit-log', S.ca ? [['ca', 'CA (append-only)'], ['console', 'console (logins, users, jobs)']] : [['console', 'console']], st.log);
  const q = el('input', { id: 'audit-q', type: 'search', value: st.q, placeholder: 'actor, action, object…' });
  m.append(el('form', { class: 'filters', onsubmit: (ev) => {
    ev.preventDefault();
    Object.assign(st, { log: logSel.value, q: q.value });
    render();
  } }, field('Log', logSel), field('Filter', q), el('button', { type: 'submit', text: 'Filter' })));
  const qs = new URLSearchParams({ limit: 300 });
  if (st.q) qs.set('q', st.q);
  const r = await api('GET', (st.log === 'ca' ? '/api/ca/audit?' : '/api/audit?') + qs);
  if (!r.ok) { m.append(el('p', { class: 'error', text: errorText(r) })); return; }
  const cols = [
    { title: 'Time', cell: (a) => fmtTime(a.time) },
    { title: 'Who', cell: (a) => a.actor },
  ];
  if (st.log === 'console') cols.push({ title: 'From', cell: (a) => a.address });
  cols.push({ title: 'Action', cell: (a) => a.action }, { title: 'Object', cell: (a) => a.object },
    { title: 'Detail', cell: (a) => a.detail });
  m.append(table(cols, r.data.entries));
};

// ---- users ------------------------------------------------------------------------------------

PAGES.users = async (m) => {
  m.append(el('div', { class: 'pagehead' }, el('h1', { text: 'Users and API tokens' })));
  const r = await api('GET', '/api/users');
  if (!r.ok) { m.append(el('p', { class: 'error', text: errorText(r) })); return; }
  m.append(table([
    { title: 'Name', cell: (u) => u.name },
    { title: 'Role', cell: (u) => u.role },
    { title: 'Created', cell: (u) => fmtTime(u.created) },
    { title: '', cell: (u) => u.name === S.user ? '' : el('button', { type: 'button', class: 'danger', text: 'Remove',
      'aria-label': 'remove ' + u.name, onclick: async () => {
        const x = await api('DELETE', '/api/users/' + encodeURIComponent(u.name));
        if (!x.ok) { toast(errorText(x), true); return; }
        render();
      } }) },
  ], r.data.users));
  const name = el('input', { id: 'nu-name', autocomplete: 'off' });
  const role = select('nu-role', ['installer', 'viewer', 'admin']);
  const pw = el('input', { id: 'nu-password', type: 'password', autocomplete: 'new-password' });
  m.append(el('form', { class: 'card', onsubmit: async (ev) => {
    ev.preventDefault();
    const x = await api('POST', '/api/users', { name: name.value, role: role.value, password: pw.value });
    if (!x.ok) { toast(errorText(x), true); return; }
    toast('Added ' + name.value);
    render();
  } }, el('h2', { text: 'Add a user' }), field('Name', name), field('Role', role), field('Password', pw),
  el('button', { type: 'submit', text: 'Add user' })));
  const t = await api('GET', '/api/tokens');
  if (t.ok) {
    m.append(el('h2', { text: 'API tokens' }));
    m.append(table([
      { title: 'Id', cell: (x) => x.id, cls: 'num' },
      { title: 'User', cell: (x) => x.user },
      { title: 'Expires', cell: (x) => x.expires ? fmtDate(x.expires) : 'never' },
      { title: 'State', cell: (x) => x.revoked ? 'revoked' : 'active' },
      { title: '', cell: (x) => x.revoked ? '' : el('button', { type: 'button', class: 'danger', text: 'Revoke', onclick: async () => {
        await api('DELETE', '/api/tokens/' + x.id);
        render();
      } }) },
    ], t.data.tokens));
  }
};

// ---- start ------------------------------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('logout').addEventListener('click', logout);
  document.getElementById('nav').addEventListener('click', (ev) => {
    const a = ev.target.closest('a');
    if (!a) return;
    ev.preventDefault();
    go(a.getAttribute('href'));
  });
  window.addEventListener('popstate', render);
  render();
});
