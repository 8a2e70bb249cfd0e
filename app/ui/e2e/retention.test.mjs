// #14 item 5's screen in a real browser against the real processes: the administrator opens
// "Sletning", sees the municipality's retention (5 years) and what the nightly job would erase,
// is refused a citizen's own request while the records are within the legal minimum, then
// erases a citizen recorded in error (a running course, so "force") after a second
// confirmation; the citizen is gone from her list, and the therapist's laptop drops the course
// at its next sync.
//
// Screenshots: docs/screenshots/retention.png (the confirmation), retention-erased.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as h from './harness.mjs';
import { PASSWORD } from './harness.mjs';

const tmp = mkdtempSync(path.join(tmpdir(), 'homerehab-e2e-retention-'));
const serverDir = path.join(tmp, 'server');
let server, browser;
const apps = {};
const ports = {};

before(async () => {
  mkdirSync(h.shots, { recursive: true });
  for (const k of ['server', 'therapist', 'admin']) ports[k] = await h.freePort();
  execFileSync(h.bin('sync-server'), ['--data-dir', serverDir, 'seed-demo'], { stdio: 'ignore' });
  server = await h.startServer(serverDir, ports.server);
  const url = `http://127.0.0.1:${ports.server}`;
  for (const k of ['therapist', 'admin']) apps[k] = await h.startApp(path.join(tmp, k), url, ports[k]);
  browser = await h.launchChromium();
});

after(async () => {
  await browser?.close();
  for (const p of Object.values(apps)) await h.stop(p);
  await h.stop(server);
  rmSync(tmp, { recursive: true, force: true });
});

const api = (port, p, body) =>
  fetch(`http://127.0.0.1:${port}/api${p}`, body === undefined ? {} : {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

test('the admin erases a citizen recorded in error and every device drops the course', async () => {
  assert.equal((await api(ports.therapist, '/login', { username: 'terapeut1', password: PASSWORD })).status, 200);
  assert.equal((await api(ports.therapist, '/sync', {})).status, 200);
  const caseload = await (await api(ports.therapist, '/caseload')).json();
  const row = caseload.find((r) => r.citizen_name);
  assert.ok(row, 'a course with its citizen');

  const page = await h.openPage(browser, 1280, 900);
  await h.signIn(page, ports.admin, 'admin', '2468');
  await page.getByTestId('tab-retention').click();
  await page.getByTestId('retention-page').waitFor();
  assert.equal(await page.getByTestId('retention-course').inputValue(), '5');
  assert.equal(await page.getByTestId('retention-referral').inputValue(), '5');
  await page.getByTestId('retention-due').waitFor();
  // The demo's courses are recent: nothing is past five years.
  assert.equal(await page.getByTestId('due-courses').locator('.tile-value').innerText(), '0');

  // Longer retention for courses is stored by the server and shown back.
  await page.getByTestId('retention-course').fill('10');
  await page.getByTestId('save-retention').click();
  await page.getByTestId('retention-message').filter({ hasText: 'gemt' }).waitFor();
  const stored = await (await api(ports.admin, '/retention')).json();
  assert.equal(stored.years.course_years, 10);

  const select = page.getByTestId('erase-citizen');
  await select.locator(`option[value="${row.citizen_id}"]`).waitFor({ state: 'attached' });
  await select.selectOption(row.citizen_id);

  // The citizen's own request is refused while the records are within the legal minimum.
  await page.getByTestId('erase-reason').nth(0).click();
  await page.getByTestId('erase-ask').click();
  await page.getByTestId('erase-confirm').click();
  await page.locator('[data-testid="erase-message"].error').waitFor();
  assert.match(await page.getByTestId('erase-message').innerText(), /legal minimum/);

  // Recorded in error, with a running course: erased after the second confirmation.
  await page.getByTestId('erase-reason').nth(1).click();
  await page.getByTestId('erase-force').check();
  await page.getByTestId('erase-ask').click();
  await page.getByTestId('erase-confirm-box').waitFor();
  assert.match(await page.getByTestId('erase-confirm-box').innerText(), new RegExp(`Slet ${row.citizen_name} for altid`));
  await page.screenshot({ path: path.join(h.shots, 'retention.png'), fullPage: true });
  await page.getByTestId('erase-confirm').click();
  await page.locator('[data-testid="erase-message"].ok').waitFor({ timeout: 20000 });
  assert.match(await page.getByTestId('erase-message').innerText(), /^Borgeren er slettet \d\d-\d\d-\d{4} \d\d:\d\d: [1-9]\d* dokumenter slettet, 1 borgerliste omskrevet\.$/);
  // Gone from the admin's own list once its device synced.
  await page.waitForFunction(
    (id) => !document.querySelector(`[data-testid="erase-citizen"] option[value="${id}"]`),
    row.citizen_id, { timeout: 20000 });
  await page.screenshot({ path: path.join(h.shots, 'retention-erased.png'), fullPage: true });

  // The therapist's laptop drops the course at its next sync.
  assert.equal((await api(ports.therapist, '/sync', {})).status, 200);
  const after = await (await api(ports.therapist, '/caseload')).json();
  assert.ok(!after.some((r) => r.citizen_id === row.citizen_id), 'the erased citizen left the caseload');
  assert.ok(after.length > 0, 'the other citizens stay');
  assert.equal((await api(ports.therapist, `/courses/${row.course_id}`)).status, 404);
});
