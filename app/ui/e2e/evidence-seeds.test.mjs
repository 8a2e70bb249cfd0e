// The seeds in the evaluation report (#12): the cohorts the evidence scenario built through
// the server's API and sync (tests/evidence.rs, tests/seeds_cohort.rs) — Aarhus' effect and the
// Thisted/Haderslev evaluation's Tabel 4 — printed by the leaders, as the report says them:
// −21,81 %, 28 af 42, 25 af 35; 207 of 1.250 (17 %), 108 trained of 84, 63 using the app.
//
// The scenario leaves its server's data in $HOMEREHAB_SEEDS_DATA (scripts/test sets it and runs
// the scenario first); without it this test fails and says so, rather than pass on nothing.
// The PDFs: docs/evidence-report-aarhus.pdf and docs/evidence-report-thisted.pdf.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as h from './harness.mjs';

const seeds = process.env.HOMEREHAB_SEEDS_DATA;
const tmp = mkdtempSync(path.join(tmpdir(), 'homerehab-e2e-seeds-'));
let server, browser, about;
const apps = {};
const ports = {};

before(async () => {
  assert.ok(seeds && existsSync(path.join(seeds, 'seeds.json')),
    'run the evidence scenario first with HOMEREHAB_SEEDS_DATA set (scripts/test does)');
  about = JSON.parse(readFileSync(path.join(seeds, 'seeds.json'), 'utf8'));
  // A copy: the scenario's data stays as it left it.
  const serverDir = path.join(tmp, 'server');
  cpSync(seeds, serverDir, { recursive: true });
  for (const k of ['server', 'aarhus', 'thisted']) ports[k] = await h.freePort();
  server = await h.startServer(serverDir, ports.server);
  for (const k of ['aarhus', 'thisted']) {
    apps[k] = await h.startApp(path.join(tmp, k), `http://127.0.0.1:${ports.server}`, ports[k]);
  }
  browser = await h.launchChromium();
});

after(async () => {
  await browser?.close();
  for (const p of Object.values(apps)) await h.stop(p);
  await h.stop(server);
  rmSync(tmp, { recursive: true, force: true });
});

// Signs in, shows the evidence for the seeds' period and opens the printable report.
async function report(who, username) {
  const page = await h.openPage(browser, 1280, 900);
  await h.signIn(page, ports[who], username, '1357', about.password);
  await page.getByTestId('tab-evidence').click();
  await page.getByTestId('ev-targets').waitFor({ timeout: 30000 });
  await page.getByTestId('period-custom').click();
  await page.getByTestId('period-from').fill(about.from);
  await page.getByTestId('period-to').fill(about.to);
  await page.getByTestId('period-apply').click();
  const [y, m, d] = about.from.split('-').map(Number);
  await page.getByText(`${d}.${m}.${y} –`).waitFor();
  await page.getByTestId('print-report').click();
  await page.getByTestId('evidence-report').waitFor();
  const text = await page.getByTestId('evidence-report').innerText();
  await page.emulateMedia({ media: 'print' });
  const pdf = path.join(h.repo, `docs/evidence-report-${who}.pdf`);
  await page.pdf({ path: pdf, format: 'A4', printBackground: true });
  assert.ok(statSync(pdf).size > 20000, 'a PDF was written');
  await page.close();
  return text;
}

test("Aarhus' report says −21,81 %, 28 af 42 and 25 af 35", async () => {
  const text = await report('aarhus', about.aarhus_leader);
  assert.match(text, /Aarhus Kommune/);
  assert.match(text, /[−-]21,81 %/, 'the change in home-care time');
  assert.match(text, /52,81/, 'minutes a day before');
  assert.match(text, /41,29/, 'minutes a day after');
  assert.match(text, /28 af 42/, 'chair stand: improved or maintained');
  assert.match(text, /25 af 35/, 'WHO-5: improved or maintained');
  assert.match(text, /42 af 174/, 'completeness first');
  assert.ok(!/Thisted/.test(text), 'nothing of Thisted by name');
});

test("Thisted's report says 207 of 1.250 (17 %), 108 trained of 84, 63 using it, and why courses ended early", async () => {
  const text = await report('thisted', about.thisted_leader);
  assert.match(text, /Thisted Kommune/);
  assert.match(text, /207\s*\/\s*1\.250/, 'citizens through courses of the target');
  assert.match(text, /17 %/);
  assert.match(text, /108\s*\/\s*84/, 'staff trained of the target');
  assert.match(text, /\b63\b/, 'staff using the app');
  assert.match(text, /Indlagt på sygehus/, 'courses ended early, by their coded reason');
  assert.ok(!/lungebetændelse/.test(text), "the therapist's words stay in the course");
  assert.ok(!/Aarhus Hverdagsrehabilitering/.test(text), "nothing of Aarhus' teams");
});
