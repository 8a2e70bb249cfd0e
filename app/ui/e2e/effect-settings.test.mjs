// The municipality's effect settings (#11), in a real browser against the real processes: the
// therapist (one of the library's editors) sees a course's chair stand 8 → 11 judged improved
// by the shipped meaningful change (2.5 stands), then on the settings page sets the
// municipality's own value (3.5, with its source) and moves the first home-care follow-up from
// 77 to 30 days. The summary now judges the same results "maintained" and prints the source as
// the municipality's; the follow-up worklist lists 30 days and 1 year; a sync takes the
// settings to the server (admitted), and a reload shows them.
//
// Screenshots: docs/screenshots/effect-settings.png, effect-settings-plan.png,
// effect-settings-summary.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as h from './harness.mjs';

const tmp = mkdtempSync(path.join(tmpdir(), 'homerehab-e2e-settings-'));
let server, app, browser;
const ports = {};

before(async () => {
  mkdirSync(h.shots, { recursive: true });
  for (const k of ['server', 'app']) ports[k] = await h.freePort();
  const serverDir = path.join(tmp, 'server');
  execFileSync(h.bin('sync-server'), ['--data-dir', serverDir, 'seed-demo'], { stdio: 'ignore' });
  server = await h.startServer(serverDir, ports.server);
  app = await h.startApp(path.join(tmp, 'app'), `http://127.0.0.1:${ports.server}`, ports.app);
  browser = await h.launchChromium();
});

after(async () => {
  await browser?.close();
  for (const p of [app, server]) await h.stop(p);
  rmSync(tmp, { recursive: true, force: true });
});

const CITIZEN = 'Inger Indstilling';

async function api(method, apiPath, body) {
  const r = await fetch(`http://127.0.0.1:${ports.app}/api${apiPath}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${apiPath}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function syncNow(page) {
  await page.getByTestId('sync-now').click();
  await page.getByTestId('status-text').filter({ hasText: 'Alt er synkroniseret' }).waitFor({ timeout: 20000 });
}

const outcome = (page, kind) => page.locator(`[data-testid=outcome-row][data-test=${kind}]`);

async function openEffect(page) {
  await page.getByTestId('tab-caseload').click();
  await page.getByTestId('case-row').filter({ hasText: CITIZEN }).click();
  await page.getByTestId('course-tab-effect').click();
}

test('the municipality sets its own meaningful change and follow-up; the summary and worklist follow', async () => {
  const page = await h.openPage(browser, 1440, 1000);
  await h.signIn(page, ports.app, 'terapeut1', '1357');
  await page.getByTestId('case-row').first().waitFor();

  // A course that ran in the summer (ended 12 weeks later), with chair stand 8 → 11 and
  // home care 420 → 330 min/week; set up through the app's API as the screens would.
  const citizen = await api('POST', '/citizens', {
    name: CITIZEN, local_ref: 'SAG-2026-0300', address: null, assigned: [], birth_year: 1950, sex: 'female',
  });
  const { course_id: course } = await api('POST', '/courses', {
    citizen_id: citizen.citizen_id, template_id: null, legal_basis: 'Serviceloven § 86, stk. 2',
    start_date: '2026-06-01', planned_weeks: 12, sessions_per_week: 2, minutes_per_session: 30, goals: [],
  });
  for (const [phase, value, date] of [['start', 8, '2026-06-02'], ['end', 11, '2026-08-20']]) {
    await api('POST', `/courses/${course}/assessments`, { kind: 'chair_stand_30s', value, date, phase, note: null });
  }
  for (const [effective, minutes] of [['2026-05-01', 420], ['2026-10-01', 330]]) {
    await api('POST', `/citizens/${citizen.citizen_id}/care-grants`, { effective, minutes_per_week: minutes, service_code: null });
  }

  // Shipped: +3 stands against 2.5 is improved.
  await openEffect(page);
  const chair = outcome(page, 'chair_stand_30s');
  await chair.filter({ hasText: 'Forbedret' }).waitFor();
  assert.doesNotMatch(await page.getByTestId('effect-summary').textContent(), /Kommunens værdi/);
  await page.getByTestId('tab-follow-ups').click();
  let rows = page.getByTestId('follow-up-row').filter({ hasText: CITIZEN });
  await rows.first().waitFor();
  assert.deepEqual((await rows.getByTestId('follow-up-offset').allTextContents()).map((o) => o.trim()).sort(), ['1 år', '77 dage']);

  // The settings page: the shipped value and its source beside each test.
  await page.getByTestId('tab-effect-settings').click();
  await page.getByTestId('mcid-table').waitFor();
  assert.match(await page.getByTestId('mcid-shipped-chair_stand_30s').textContent(), /2,5/);
  assert.match(await page.getByTestId('mcid-row-chair_stand_30s').textContent(), /MDC/);
  assert.equal(await page.getByTestId('offset-0').inputValue(), '77');
  assert.equal(await page.getByTestId('criteria-row').count(), 6);

  // A bad value is refused with a reason, and nothing changes.
  await page.getByTestId('mcid-chair_stand_30s').fill('0');
  await page.getByTestId('mcid-source-chair_stand_30s').fill('Thisted Kommunes kvalitetsstandard 2026');
  await page.getByTestId('settings-save').click();
  await page.getByTestId('settings-error').filter({ hasText: /positive/ }).waitFor();
  assert.equal((await api('GET', '/effect-settings')).changes.find((c) => c.test === 'chair_stand_30s').value, null);

  // The municipality's own value, a follow-up at 30 days, a criterion added.
  await page.getByTestId('mcid-chair_stand_30s').fill('3,5');
  await page.getByTestId('offset-0').fill('30');
  await page.getByTestId('criteria-add').click();
  await page.getByTestId('criteria-da-6').fill('Kan gå 10 meter med eller uden hjælpemiddel');
  await page.getByTestId('criteria-en-6').fill('Can walk 10 metres with or without an aid');
  await page.getByTestId('criteria-retire-4').click();
  // A municipal default test plan for new courses: the shipped one plus TUG at start and end.
  await page.getByTestId('plan-default-on').check();
  for (const col of [0, 2]) {
    await page.getByTestId(`plan-default-timed_up_and_go-${col}`).click();
    await page.locator(`[data-testid=plan-default-timed_up_and_go-${col}][aria-pressed=true]`).waitFor();
  }
  await page.getByTestId('settings-save').click();
  await page.getByTestId('settings-saved').waitFor();
  assert.equal(await page.getByTestId('settings-error').textContent(), '');
  const stored = await api('GET', '/effect-settings');
  assert.equal(stored.changes.find((c) => c.test === 'chair_stand_30s').value, 3.5);
  assert.deepEqual(stored.follow_up_offsets, [30, 365]);
  assert.equal(stored.criteria.length, 7);
  assert.equal(stored.criteria[4].retired, true);
  assert.deepEqual(stored.default_test_plan, {
    start: ['chair_stand_30s', 'who5', 'timed_up_and_go'], mid: [], end: ['chair_stand_30s', 'who5', 'timed_up_and_go'], delegated: [],
  });
  await page.getByTestId('default-plan').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(h.shots, 'effect-settings-plan.png') });
  // As the editor sees it: the top of the page, the save bar kept at the bottom.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(h.shots, 'effect-settings.png') });

  // The same results, judged by the municipality's value, which the summary names.
  await openEffect(page);
  await chair.filter({ hasText: 'Uændret' }).waitFor();
  await page.getByText(/Kommunens værdi: Thisted Kommunes kvalitetsstandard 2026/).first().waitFor();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(h.shots, 'effect-settings-summary.png'), fullPage: true });
  const effect = await api('GET', `/courses/${course}/effect`);
  assert.deepEqual(effect.care_follow_ups.map((f) => f.offset_days), [30, 365]);
  assert.equal(effect.care_follow_ups[0].minutes_per_week, 420, '30 days after the course (2026-09-22): before the new grant of 2026-10-01');

  // The worklist follows the offsets.
  await page.getByTestId('tab-follow-ups').click();
  rows = page.getByTestId('follow-up-row').filter({ hasText: CITIZEN });
  await rows.getByTestId('follow-up-offset').filter({ hasText: '30 dage' }).waitFor();
  assert.deepEqual((await rows.getByTestId('follow-up-offset').allTextContents()).map((o) => o.trim()).sort(), ['1 år', '30 dage']);

  // The screening checklist asks the new criterion and not the retired one.
  const setup = await api('GET', '/screening-setup?lang=da');
  assert.ok(setup.criteria.some((c) => c.text.startsWith('Kan gå 10 meter')));
  assert.ok(!setup.criteria.some((c) => c.key === 'home_allows_training'));

  // The settings sync to the server (which admits them) and survive a reload.
  await syncNow(page);
  await page.reload();
  const key = page.getByTestId('key-1');
  await key.or(page.getByTestId('tab-effect-settings')).first().waitFor();
  if (await key.isVisible()) await h.enterPin(page, '1357');
  await page.getByTestId('tab-effect-settings').click();
  await page.getByTestId('mcid-table').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid=mcid-chair_stand_30s]')?.value === '3,5');
  assert.equal(await page.getByTestId('offset-0').inputValue(), '30');
});
