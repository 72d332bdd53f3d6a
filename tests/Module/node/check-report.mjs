// Opens an HTML report in Debian's chromium (puppeteer-core) the way a person would, and prints one JSON object:
// console errors, every network request the page made, the visible verdict and rule names, SVG data marks,
// horizontal overflow at 1280 and 390 px, and whether page.pdf() works. Screenshots and the PDF go to <outDir>.
// Usage: node check-report.mjs <report.html> <outDir> <name>
import puppeteer from 'puppeteer-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [file, outDir, name = 'report'] = process.argv.slice(2);
fs.mkdirSync(outDir, { recursive: true });
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'nekk-chromium-'));
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  userDataDir: profile,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--disable-default-apps', '--mute-audio'],
});
const result = { consoleErrors: [], requests: [], widths: {}, screenshots: [] };
try {
  const page = await browser.newPage();
  const url = pathToFileURL(path.resolve(file)).href;
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    // The document itself is the one request allowed; anything else is recorded and refused.
    if (req.url() === url && req.isNavigationRequest()) { req.continue(); return; }
    result.requests.push(req.url());
    req.abort();
  });
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warn') result.consoleErrors.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => result.consoleErrors.push('pageerror: ' + e.message));
  for (const width of [1280, 390]) {
    await page.setViewport({ width, height: 900 });
    await page.goto(url, { waitUntil: 'load' });
    const m = await page.evaluate(() => {
      const visible = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el); return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
      const doc = document.documentElement;
      const wide = [...document.body.querySelectorAll('*')].filter((el) => el.getBoundingClientRect().right > doc.clientWidth + 1 && !el.closest('.scroll')).slice(0, 5).map((el) => el.tagName + '.' + el.className);
      return {
        scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, wide,
        headlines: [...document.querySelectorAll('.verdict .headline')].filter(visible).map((e) => e.innerText),
        rules: [...document.querySelectorAll('table th[scope=row]')].filter(visible).map((e) => e.innerText.replace(/\s+/g, '')),
        charts: document.querySelectorAll('svg.chart').length,
        marks: document.querySelectorAll('svg.chart .mark').length,
        failMarks: document.querySelectorAll('svg.chart .mark.fail').length,
        chartsWithTitle: [...document.querySelectorAll('svg.chart')].filter((s) => s.querySelector('title') && s.getAttribute('role') === 'img').length,
        h1: document.querySelectorAll('h1').length,
        scripts: document.querySelectorAll('script, link, img, iframe, object, embed').length,
        title: document.title,
        text: document.body.innerText,
      };
    });
    result.widths[width] = m;
    const shot = path.join(outDir, `${name}-${width}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    result.screenshots.push(shot);
  }
  await page.emulateMediaType('print');
  const pdf = await page.pdf({ format: 'A4', printBackground: true });
  const pdfPath = path.join(outDir, `${name}.pdf`);
  fs.writeFileSync(pdfPath, pdf);
  result.pdf = { path: pdfPath, bytes: pdf.length, magic: Buffer.from(pdf.subarray(0, 5)).toString('latin1') };
} finally {
  await browser.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result));
