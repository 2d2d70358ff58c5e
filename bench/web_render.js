// Time to first render of a console page in Chromium (bench/web.sh):
// logs in, then for each page loads it RUNS times and reports the median time
// from navigation start until the page's data is painted (the mark app.js
// sets one frame after drawing a page).
//   node bench/web_render.js URL USER PASSWORD PATH=SELECTOR...
'use strict';
const path = require('path');
const { chromium } = require(path.join(__dirname, '../tests/web/node_modules/playwright-core'));
const [url, user, password, ...pages] = process.argv.slice(2);
const RUNS = 7;

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1400, height: 900 } });
  const r = await ctx.request.post(url + '/api/login', { data: { user, password } });
  if (!r.ok()) throw new Error('login failed: ' + r.status());
  const page = await ctx.newPage();
  for (const spec of pages) {
    const [p, sel] = spec.split('=');
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      await page.goto(url + p, { waitUntil: 'commit' });
      await page.waitForSelector(sel, { state: 'attached', timeout: 60000 });
      // the page marks when its data was first painted (app.js render())
      const name = 'rendered:' + p.slice(1);
      await page.waitForFunction((n) => performance.getEntriesByName(n).length > 0, name);
      times.push(await page.evaluate((n) => performance.getEntriesByName(n)[0].startTime, name));
    }
    times.sort((a, b) => a - b);
    console.log(`${p} ${times[RUNS >> 1].toFixed(0)}`);
  }
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
