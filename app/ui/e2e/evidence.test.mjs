// The leaders' evidence (#12), in a real browser against the real processes: the server seeded
// with `seed-demo --evidence` (Thisted with a year of referrals, courses, tests, WHO-5, care
// time, training, targets and prices; Haderslev anonymous and Aarhus named for the benchmark).
// The leader reads every section, drills down to a team and to a therapist and prints the evaluation report (PDF,
// rendered to PNG pages with pdftoppm); the admin sets a target and the prices, and a wrong
// price is refused with the server's message, and compares with Aarhus only; the leader sees
// the new target, price and comparison group, and pulls a table of the BI feed as a CSV file;
// offline, the
// leader still reads the answer kept on the device, marked offline, and a period never fetched
// says so; an assistant has no evidence at all.
//
// Screenshots: docs/screenshots/evidence-*.png; the report: docs/evidence-report-example.pdf
// (its pages as PNG in $TMPDIR/homerehab-evidence-report/, not committed).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, statSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as h from './harness.mjs';

const tmp = mkdtempSync(path.join(tmpdir(), 'homerehab-e2e-evidence-'));
let server, browser, net;
const apps = {};
const ports = {};
const YEAR = new Date().getFullYear();

before(async () => {
  mkdirSync(h.shots, { recursive: true });
  for (const k of ['server', 'relay', 'leader', 'admin', 'assistant']) ports[k] = await h.freePort();
  const serverDir = path.join(tmp, 'server');
  execFileSync(h.bin('sync-server'), ['--data-dir', serverDir, 'seed-demo', '--evidence'], { stdio: 'ignore' });
  server = await h.startServer(serverDir, ports.server);
  // The leader's device reaches the server through a relay the test can cut.
  net = h.relay(ports.relay, ports.server);
  await net.restore();
  apps.leader = await h.startApp(path.join(tmp, 'leader'), `http://127.0.0.1:${ports.relay}`, ports.leader);
  for (const k of ['admin', 'assistant']) {
    apps[k] = await h.startApp(path.join(tmp, k), `http://127.0.0.1:${ports.server}`, ports[k]);
  }
  browser = await h.launchChromium();
});

after(async () => {
  await browser?.close();
  for (const p of Object.values(apps)) await h.stop(p);
  await net?.cut();
  await h.stop(server);
  rmSync(tmp, { recursive: true, force: true });
});

let leader;
const shot = (page, name) => page.screenshot({ path: path.join(h.shots, `evidence-${name}.png`), fullPage: true });

async function openSection(page, id) {
  await page.getByTestId(`section-${id}`).click();
  await page.getByTestId(`ev-${id}`).waitFor();
}

test('the leader reads targets, funnel, staff, effect, business case and benchmark, and drills down to a team', async () => {
  leader = await h.openPage(browser, 1280, 900);
  await h.signIn(leader, ports.leader, 'leder1', '2468');
  await leader.getByTestId('tab-evidence').click();
  await leader.getByTestId('ev-targets').waitFor({ timeout: 20000 });
  assert.match(await leader.getByTestId('evidence-scope').innerText(), /Thisted Kommune/);
  assert.equal(await leader.getByTestId('offline-badge').count(), 0, 'online: no offline badge');

  // Targets: one card per target with its light, in words as well as colour.
  const cards = leader.locator('.target-card');
  assert.ok((await cards.count()) >= 1, 'at least one target card');
  const light = await cards.first().getByTestId('light').innerText();
  assert.match(light, /Grøn|Gul|Rød|Ingen vurdering/);
  await shot(leader, 'targets');

  await openSection(leader, 'funnel');
  const referred = Number(await leader.getByTestId('stage-referred').locator('.bar-count').innerText());
  const completed = Number(await leader.getByTestId('stage-completed').locator('.bar-count').innerText());
  assert.ok(referred > 0 && completed > 0 && completed <= referred, `funnel ${referred} → ${completed}`);
  await leader.getByTestId('month-chart').waitFor();
  assert.ok((await leader.getByTestId('recruitment-row').count()) > 0, 'who recruits: listed');
  await shot(leader, 'funnel');

  await openSection(leader, 'staff');
  await leader.getByTestId('staff-total').waitFor();
  assert.ok((await leader.getByTestId('staff-group').count()) > 0);
  await shot(leader, 'staff');

  await openSection(leader, 'effect');
  assert.match(await leader.getByTestId('completeness').innerText(), /\d+ af \d+ har test ved start og slut/);
  assert.ok((await leader.getByTestId('judgement-row').count()) >= 2, 'a test and WHO-5');
  await leader.getByTestId('care-77').waitFor();
  assert.match(await leader.getByTestId('care-77').innerText(), /n = \d+/);
  await shot(leader, 'effect');

  await openSection(leader, 'business');
  await leader.getByTestId('business-lines').waitFor();
  const line = await leader.getByTestId('business-lines').locator('tbody tr').first().innerText();
  assert.match(line, /×|÷/, 'the formula is shown beside the value');
  await shot(leader, 'business');

  await openSection(leader, 'benchmark');
  const own = await leader.getByTestId('benchmark-own').innerText();
  assert.match(own, /Thisted Kommune/);
  const others = await leader.getByTestId('benchmark-row').allInnerTexts();
  assert.ok(others.length >= 2, 'the other municipalities');
  assert.ok(others.some((r) => /Aarhus Kommune/.test(r)), 'Aarhus agreed to be named');
  assert.ok(!others.some((r) => /Haderslev/.test(r)), 'Haderslev did not: anonymised');
  // Whole quarters that have ended, said in words: not the period chosen (security.md F9).
  assert.match(await leader.getByTestId('benchmark-quarters').innerText(),
    /hele, afsluttede kvartaler: \d\. kvt\. \d{4}( – \d\. kvt\. \d{4})?, opgjort pr\. \d+\.\d+\.\d{4}/);
  await shot(leader, 'benchmark');

  // Drill down: one team; its figures, the municipality's name kept.
  await leader.getByTestId('team-select').selectOption({ label: 'Hjemmetræning Vest' });
  await leader.getByTestId('evidence-scope').filter({ hasText: 'Hjemmetræning Vest' }).waitFor();
  await openSection(leader, 'funnel');
  await shot(leader, 'team');
  await leader.getByTestId('team-select').selectOption({ label: 'Hele kommunen' });
  await leader.getByTestId('evidence-scope').filter({ hasNotText: 'Vest' }).waitFor();

  // And on to one therapist of a team the leader serves, from the recruitment table: the
  // referrals and courses that are theirs; back to the whole team in one tap.
  await openSection(leader, 'funnel');
  const drill = leader.getByTestId('drill-therapist');
  await drill.first().waitFor();
  const who = (await drill.first().innerText()).trim();
  await drill.first().click();
  await leader.getByTestId('therapist-drilled').filter({ hasText: who }).waitFor();
  assert.match(await leader.getByTestId('evidence-scope').innerText(), new RegExp(`· ${who}$`));
  assert.equal(await leader.getByTestId('drill-therapist').count(), 0, 'no deeper drill-down');
  await shot(leader, 'therapist');
  await leader.getByTestId('clear-therapist').click();
  await leader.getByTestId('therapist-drilled').waitFor({ state: 'detached' });

  // English is one tap away: the sections, the funnel and the reasons in English.
  await leader.getByTestId('language').click();
  await leader.getByTestId('section-funnel').filter({ hasText: 'Funnel' }).waitFor();
  await openSection(leader, 'funnel');
  assert.match(await leader.getByTestId('stage-referred').innerText(), /Referred/);
  const reasons = await leader.getByTestId('ended-early-reasons').innerText();
  assert.match(reasons, /Ended early/);
  assert.match(reasons, /Admitted to hospital|Illness or deterioration|The citizen wants to stop/,
    'ended early by its coded reason, in English');
  await shot(leader, 'funnel-en');
  await leader.getByTestId('language').click();
  await leader.getByTestId('section-funnel').filter({ hasText: 'Forløb' }).waitFor();
});

test('one click gives the evaluation report; it prints to A4 and its pages are rendered', async () => {
  await leader.getByTestId('print-report').click();
  await leader.getByTestId('evidence-report').waitFor();
  const text = await leader.getByTestId('evidence-report').innerText();
  for (const heading of ['Evalueringsrapport', 'Mål', 'Forløb', 'Personale i brug', 'Effekt', 'Business case', 'Benchmark']) {
    assert.ok(text.includes(heading), `the report has ${heading}`);
  }
  await shot(leader, 'report');
  await leader.emulateMedia({ media: 'print' });
  assert.equal(await leader.getByTestId('report-print').isVisible(), false, 'the buttons are not printed');
  assert.equal(await leader.locator('nav.tabs').first().isVisible(), false);
  const pdf = path.join(h.repo, 'docs/evidence-report-example.pdf');
  await leader.pdf({ path: pdf, format: 'A4', printBackground: true });
  await leader.emulateMedia({ media: 'screen' });
  assert.ok(statSync(pdf).size > 20000, 'a PDF was written');
  const pages = path.join(tmpdir(), 'homerehab-evidence-report');
  rmSync(pages, { recursive: true, force: true });
  mkdirSync(pages, { recursive: true });
  execFileSync('pdftoppm', ['-png', '-r', '60', pdf, path.join(pages, 'page')]);
  const pngs = readdirSync(pages).filter((f) => f.endsWith('.png'));
  assert.ok(pngs.length >= 3, `the report has several pages (${pngs.length})`);
  console.log(`report pages: ${pages} (${pngs.length})`);
  await leader.getByTestId('report-back').click();
  await leader.getByTestId('ev-targets').waitFor();
});

test('the admin sets a target and the prices; a wrong price is refused with the server\'s message', async () => {
  const admin = await h.openPage(browser, 1280, 900);
  await h.signIn(admin, ports.admin, 'admin', '1470');
  await admin.getByTestId('tab-evidence-settings').click();
  await admin.getByTestId('evidence-settings').waitFor();
  await admin.getByTestId(`target-${YEAR}-citizens`).waitFor();
  await admin.getByTestId(`target-${YEAR}-citizens`).fill('123');
  if (!(await admin.getByTestId('use-prices').isChecked())) await admin.getByTestId('use-prices').check();
  await admin.getByTestId('price-home-care-hour').fill('450');
  // Invalid: no hours in a full-time equivalent. The server's message is shown.
  await admin.getByTestId('price-hours-per-fte').fill('0');
  await admin.getByTestId('save-evidence-settings').click();
  const error = await admin.getByTestId('settings-error').innerText();
  assert.match(error, /hours_per_fte|0/, `the server says why: ${error}`);
  await admin.getByTestId('price-hours-per-fte').fill('1924');
  await admin.getByTestId('save-evidence-settings').click();
  await admin.getByTestId('settings-saved').waitFor();
  // Compare with Aarhus only (the list is the server's municipalities).
  await admin.getByTestId('compare-all').uncheck();
  await admin.locator('.check-list label', { hasText: 'Aarhus Kommune' }).locator('input').check();
  await admin.getByTestId('save-evidence-settings').click();
  await admin.getByTestId('settings-saved').waitFor();
  assert.equal(await admin.getByTestId('compare-all').isChecked(), false, 'the group was stored');
  assert.ok(await admin.locator('.check-list label', { hasText: 'Aarhus Kommune' }).locator('input').isChecked());
  await admin.evaluate(() => window.scrollTo(0, 0));
  await admin.screenshot({ path: path.join(h.shots, 'evidence-settings.png'), fullPage: true });
  // The admin reads the evidence too.
  await admin.getByTestId('tab-evidence').click();
  await admin.getByTestId('ev-targets').waitFor({ timeout: 20000 });
  await admin.close();
});

test('the leader sees the admin\'s target for the whole year', async () => {
  await leader.getByTestId('period-custom').click();
  await leader.getByTestId('period-from').fill(`${YEAR}-01-01`);
  await leader.getByTestId('period-to').fill(`${YEAR}-12-31`);
  await leader.getByTestId('period-apply').click();
  const card = leader.getByTestId('target-citizens');
  await card.filter({ hasText: '/ 123' }).waitFor({ timeout: 20000 });
  await openSection(leader, 'business');
  assert.match(await leader.getByTestId('business-lines').innerText(), /450/, 'the new price is in the worked line');
  await openSection(leader, 'benchmark');
  const rows = await leader.getByTestId('benchmark-row').allInnerTexts();
  assert.deepEqual(rows.map((r) => r.split(/\s/)[0]), ['Aarhus'], 'the comparison group: Aarhus only');
});

test('the leader pulls a table of the BI feed for the period and saves it as CSV', async () => {
  const card = leader.getByTestId('bi-export');
  await card.scrollIntoViewIfNeeded();
  await leader.getByTestId('bi-courses').click();
  const save = leader.getByTestId('bi-save');
  await save.waitFor({ timeout: 20000 });
  assert.equal(await save.getAttribute('download'), `homerehab-courses-${YEAR}-01-01-${YEAR}-12-31.csv`);
  const [download] = await Promise.all([leader.waitForEvent('download'), save.click()]);
  // For Danish Excel, opened with a double click: a byte-order mark and `;` between fields.
  const csv = readFileSync(await download.path(), 'utf8');
  assert.ok(csv.startsWith('\ufeff'), 'a byte-order mark');
  const lines = csv.slice(1).trimEnd().split('\r\n');
  assert.equal(lines[0], 'course_id;citizen_id;team_id;legal_basis;start_date;planned_weeks;sessions_per_week;status;responsible_therapist;created_at;end_reason');
  assert.ok(lines.length >= 2, `the year's courses (${lines.length - 1})`);
  assert.ok(lines.slice(1).every((l) => l.split(';')[4].startsWith(`${YEAR}-`)), 'started in the period');
  await card.screenshot({ path: path.join(h.shots, 'evidence-bi-export.png') });
  // The teams named in the files, by name.
  await leader.getByTestId('bi-teams').click();
  await leader.getByTestId('bi-save').filter({ hasText: 'homerehab-teams-' }).waitFor({ timeout: 20000 });
});

test('offline, the leader reads the answer kept on the device, marked offline', async () => {
  await net.cut();
  await leader.getByTestId('period-this-year').click();
  await leader.getByTestId('offline-badge').waitFor({ timeout: 20000 });
  await openSection(leader, 'targets');
  assert.match(await leader.getByTestId('fetched-at').innerText(), /\d+\.\d+\.\d{4} \d\d:\d\d/);
  await shot(leader, 'offline');
  // A period never fetched: nothing kept, said plainly.
  await leader.getByTestId('period-last-year').click();
  const error = await leader.getByTestId('evidence-error').innerText();
  assert.match(error, /no evidence for this period is kept/);
  await net.restore();
  await leader.getByTestId('period-this-year').click();
  await leader.getByTestId('freshness').filter({ hasNotText: 'Offline' }).waitFor({ timeout: 20000 });
});

test('an assistant has no evidence area and the app refuses the operation', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, ...h.DANISH_CLOCK });
  await h.signIn(page, ports.assistant, 'assistent1', '3579');
  await page.getByRole('heading', { name: 'Dagens besøg' }).waitFor();
  assert.equal(await page.getByTestId('tab-evidence').count(), 0);
  const r = await fetch(`http://127.0.0.1:${ports.assistant}/api/evidence`);
  assert.equal(r.status, 403);
  const bi = await fetch(`http://127.0.0.1:${ports.assistant}/api/bi-export/courses?from=${YEAR}-01-01&to=${YEAR}-12-31`);
  assert.equal(bi.status, 403, 'no BI feed either');
  await page.close();
});
