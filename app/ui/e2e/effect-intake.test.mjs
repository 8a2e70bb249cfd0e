// Issue #11 from referral to effect, in a real browser with three devices on one real sync
// server: the therapist's laptop, an assistant's tablet (whose network the test cuts through a
// TCP relay) and the leader's laptop.
//
// The therapist refers two new citizens (with birth year and sex), screens one NOT included
// with a reason and the other included, and creates the included one's course from a template,
// linked to the referral, with a test plan. Start tests; the tablet, offline, answers the WHO-5
// in a session; end tests; goal attainment. Then the home-care CSV: one bad line, "import the
// good lines", and the same file again changes nothing; a citizen waiting for a follow-up whom
// the next file leaves out is asked about, and her home care recorded as ended. The effect summary judges the tests
// and the home-care minutes' change, the follow-up worklist lists the course, and the leader's
// funnel counts 2 referred, 1 included, 1 not included.
//
// The test plan, the tablet's WHO-5, goal attainment and the effect summary are engineer C's
// screens (branch `effect-ui-course`, merged); one training session on the tablet is started
// and finished through its local API with fetch, as the guided session would (the guided
// session itself is covered by therapist-course.test.mjs).
//
// Screenshots: docs/screenshots/{referrals,screening,care-time-import,care-time-not-in-file,follow-ups}.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as h from './harness.mjs';

const tmp = mkdtempSync(path.join(tmpdir(), 'homerehab-e2e-intake-'));
const shot = (page, name, fullPage = false) => page.screenshot({ path: path.join(h.shots, `${name}.png`), fullPage });
let server, therapistApp, tabletApp, leaderApp, browser, tabletNet;
const ports = {};

before(async () => {
  mkdirSync(h.shots, { recursive: true });
  for (const k of ['server', 'relay', 'therapist', 'tablet', 'leader']) ports[k] = await h.freePort();
  const serverDir = path.join(tmp, 'server');
  execFileSync(h.bin('sync-server'), ['--data-dir', serverDir, 'seed-demo'], { stdio: 'ignore' });
  server = await h.startServer(serverDir, ports.server);
  const direct = `http://127.0.0.1:${ports.server}`;
  tabletNet = h.relay(ports.relay, ports.server);
  await tabletNet.restore();
  therapistApp = await h.startApp(path.join(tmp, 'therapist'), direct, ports.therapist);
  tabletApp = await h.startApp(path.join(tmp, 'tablet'), `http://127.0.0.1:${ports.relay}`, ports.tablet);
  leaderApp = await h.startApp(path.join(tmp, 'leader'), direct, ports.leader);
  browser = await h.launchChromium();
});

after(async () => {
  await browser?.close();
  for (const p of [therapistApp, tabletApp, leaderApp, server]) await h.stop(p);
  await tabletNet?.cut();
  rmSync(tmp, { recursive: true, force: true });
});

const INCLUDED = 'Karen Henvist';
const NOT_INCLUDED = 'Poul Henvist';
// The course ran in the summer, so its 77-day follow-up has passed (the 1-year one has not).
const COURSE_START = '2026-06-01';

async function syncNow(page) {
  await page.getByTestId('sync-now').click();
  await page.getByTestId('status-text').filter({ hasText: 'Alt er synkroniseret' }).waitFor({ timeout: 20000 });
}

// One call to a device's local API, as the UI makes it; fails with the API's message.
async function api(port, method, apiPath, body) {
  const r = await fetch(`http://127.0.0.1:${port}/api${apiPath}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${apiPath}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function refer(page, name, ref, birthYear, sex) {
  await page.getByTestId('refer-citizen').click();
  const form = page.getByTestId('refer-form');
  await form.getByTestId('refer-new-citizen').click();
  await form.getByTestId('citizen-name').fill(name);
  await form.getByTestId('citizen-ref').fill(ref);
  await form.getByTestId('citizen-address').fill('Storegade 1, 7700 Thisted');
  await form.getByTestId('citizen-birth-year').fill(String(birthYear));
  await form.getByTestId('citizen-sex').selectOption(sex);
  await form.getByTestId('assign-assistant').filter({ hasText: 'Lone Mikkelsen' }).click();
  await form.getByTestId('referral-note').fill('Henvist fra udskrivning, faldet to gange');
  await form.getByTestId('save-referral').click();
  await page.getByTestId('referral-row').filter({ hasText: name }).waitFor();
}

// Answers the checklist: every criterion yes, except the keys in `no`.
async function answerCriteria(page, no = []) {
  const criteria = page.getByTestId('criterion');
  await criteria.first().waitFor();
  const n = await criteria.count();
  assert.ok(n >= 2, `the municipality's checklist has criteria (${n})`);
  for (let i = 0; i < n; i++) {
    const c = criteria.nth(i);
    const key = await c.getAttribute('data-key');
    await c.getByTestId(no.includes(i) ? 'criterion-no' : 'criterion-yes').click();
    assert.equal(await c.getByTestId(no.includes(i) ? 'criterion-no' : 'criterion-yes').getAttribute('aria-pressed'), 'true', key);
  }
  return n;
}

async function assessment(page, kind, phase, value, date) {
  await page.getByTestId('assessment-kind').selectOption(kind);
  await page.getByTestId('assessment-phase').selectOption(phase);
  await page.getByTestId('assessment-value').fill(String(value));
  await page.getByTestId('assessment-date').fill(date);
  await page.getByTestId('save-assessment').click();
  await page.getByTestId('assessment-row').filter({ hasText: String(value).replace('.', ',') }).or(
    page.getByTestId('assessment-row').filter({ hasText: String(value) })).first().waitFor();
}

test('referral, screening, course, WHO-5 offline, tests, care-time import, effect and funnel', async () => {
  const therapist = await h.openPage(browser, 1440, 900, 'therapist');
  await h.signIn(therapist, ports.therapist, 'terapeut1', '1357');
  await therapist.getByRole('heading', { name: 'Forløb' }).waitFor();

  // Two referrals of citizens not yet on the roster.
  await therapist.getByTestId('tab-referrals').click();
  await therapist.getByRole('heading', { name: 'Henvisninger' }).waitFor();
  await refer(therapist, INCLUDED, 'HEN-1', 1944, 'female');
  await refer(therapist, NOT_INCLUDED, 'HEN-2', 1950, 'male');
  const rowOf = (name) => therapist.getByTestId('referral-row').filter({ hasText: name });
  for (const name of [INCLUDED, NOT_INCLUDED]) {
    assert.equal((await rowOf(name).getByTestId('referral-status').textContent()).trim(), 'Afventer screening');
  }
  await shot(therapist, 'referrals');

  // Not included: one criterion not met, and a reason is required.
  await rowOf(NOT_INCLUDED).getByTestId('referral-screen').click();
  await therapist.getByRole('heading', { name: `Screening af ${NOT_INCLUDED}` }).waitFor();
  await answerCriteria(therapist, [0]);
  await therapist.getByTestId('screen-not-included').click();
  await therapist.locator('.outcome .error', { hasText: 'Vælg en begrundelse' }).waitFor();
  await therapist.getByTestId('screen-reason').selectOption({ index: 1 });
  const reasonText = (await therapist.getByTestId('screen-reason').locator('option:checked').textContent()).trim();
  await therapist.getByTestId('screen-not-included').click();
  await rowOf(NOT_INCLUDED).getByTestId('referral-status').filter({ hasText: 'Ikke inkluderet' }).waitFor();
  assert.equal((await rowOf(NOT_INCLUDED).getByTestId('referral-reason').textContent()).trim(), reasonText);

  // Included: every criterion met; on to the new course with citizen and referral chosen.
  await rowOf(INCLUDED).getByTestId('referral-screen').click();
  await therapist.getByRole('heading', { name: `Screening af ${INCLUDED}` }).waitFor();
  await answerCriteria(therapist);
  await shot(therapist, 'screening', true);
  await therapist.getByTestId('screen-include').click();
  await therapist.getByTestId('from-referral').filter({ hasText: INCLUDED }).waitFor();
  assert.equal(await therapist.getByTestId('citizen-choice').filter({ hasText: INCLUDED }).getAttribute('class').then((c) => c.includes('selected')), true,
    'the referred citizen is preselected');
  await therapist.getByTestId('template-choice').filter({ hasText: 'Generel styrke, 10 uger' }).click();
  await therapist.getByTestId('start-date').fill(COURSE_START);
  await therapist.getByTestId('goals').fill('Kan selv rejse sig fra stol\nGår til postkassen med rollator');
  await therapist.getByTestId('create-course').click();
  await therapist.getByTestId('program-editor').waitFor();
  await therapist.getByTestId('tab-referrals').click();
  await rowOf(INCLUDED).getByTestId('referral-status').filter({ hasText: 'Forløb oprettet' }).waitFor();

  const course = (await api(ports.therapist, 'GET', '/caseload')).find((r) => r.citizen_name === INCLUDED).course_id;
  // The test plan: the default (chair stand and WHO-5 at start and end) plus TUG and grip.
  await therapist.getByTestId('tab-caseload').click();
  await therapist.getByTestId('case-row').filter({ hasText: INCLUDED }).click();
  await therapist.getByTestId('course-tab-effect').click();
  await therapist.getByTestId('test-plan').waitFor();
  await therapist.locator('[data-testid=plan-who5-0][aria-pressed=true]').waitFor();
  for (const kind of ['timed_up_and_go', 'grip_strength']) {
    for (const col of [0, 2]) await therapist.getByTestId(`plan-${kind}-${col}`).click();
  }
  await therapist.getByTestId('save-plan').click();
  await therapist.getByTestId('plan-saved').waitFor();
  const plan = await api(ports.therapist, 'GET', `/courses/${course}/due-tests`);
  for (const t of ['chair_stand_30s', 'timed_up_and_go', 'grip_strength', 'who5']) {
    assert.ok(plan.some((d) => d.test === t && d.phase === 'start'), `${t} planned at the start`);
  }
  await syncNow(therapist);

  // Start tests on the course page.
  await therapist.getByTestId('course-tab-assessments').click();
  await assessment(therapist, 'chair_stand_30s', 'start', 8, '2026-06-02');
  await assessment(therapist, 'timed_up_and_go', 'start', 14, '2026-06-02');
  await assessment(therapist, 'grip_strength', 'start', 24, '2026-06-02');
  await syncNow(therapist);

  // The tablet gets the course and loses its network; offline, the visit's start WHO-5 is
  // answered on the tablet's screen, one tap per statement.
  const tablet = await h.openPage(browser, 1280, 800, 'tablet');
  await h.signIn(tablet, ports.tablet, 'assistent1', '2468');
  await tablet.getByRole('heading', { name: 'Dagens besøg' }).waitFor();
  const card = tablet.getByTestId('visit').filter({ hasText: INCLUDED });
  const startWho5 = card.getByTestId('due-who5').filter({ hasText: 'Starttest' });
  await startWho5.waitFor();
  await tabletNet.cut();
  await tablet.getByTestId('sync-now').click();
  await tablet.getByTestId('status-text').filter({ hasText: 'Offline' }).waitFor();
  await startWho5.click();
  const answers = [3, 2, 3, 2, 3];
  for (let k = 1; k <= 5; k++) {
    await tablet.getByTestId('who5-progress').filter({ hasText: `Udsagn ${k} af 5` }).waitFor();
    await tablet.getByTestId(`who5-answer-${answers[k - 1]}`).click();
  }
  await tablet.getByTestId('who5-score').filter({ hasText: 'Score 52 af 100 (råscore 13 × 4)' }).waitFor();
  await tablet.getByTestId('who5-to-visits').click();
  await card.waitFor();
  // A training session, started and finished offline through the tablet's local API.
  const { session_id: session } = await api(ports.tablet, 'POST', `/courses/${course}/sessions`);
  await api(ports.tablet, 'POST', `/courses/${course}/sessions/${session}/finish`, { general_condition: 4, note: null });
  await tabletNet.restore();
  await syncNow(tablet);

  // End tests: one improved, one maintained, one declined; the goals rated.
  await syncNow(therapist);
  await assessment(therapist, 'chair_stand_30s', 'end', 12, '2026-08-07');
  await assessment(therapist, 'timed_up_and_go', 'end', 13.5, '2026-08-07');
  await assessment(therapist, 'grip_strength', 'end', 18, '2026-08-07');
  await therapist.getByTestId('course-tab-effect').click();
  await therapist.getByTestId('goal-attainment').waitFor();
  await therapist.getByTestId('goal-0-achieved').click();
  await therapist.locator('[data-testid=goal-0-achieved][aria-pressed=true]').waitFor();
  await therapist.getByTestId('goal-1-partly_achieved').click();
  await therapist.locator('[data-testid=goal-1-partly_achieved][aria-pressed=true]').waitFor();

  // The home-care CSV: a grant before the course, one after; one bad line; a line for the
  // citizen who was not included is fine too.
  const csv = [
    'Borgerreference;Virkningsdato;Minutter_pr_uge;Ydelseskode',
    'HEN-1;01-03-2026;420;1.1',
    'HEN-1;01-09-2026;300;1.1',
    'HEN-1;31-02-2026;200;1.1',
    'HEN-2;15-05-2026;120;2.1',
    '',
  ].join('\n');
  const file = { name: 'hjemmepleje.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') };
  await therapist.getByTestId('tab-care-time').click();
  await therapist.getByRole('heading', { name: 'Hjemmeplejetid' }).waitFor();
  await therapist.getByTestId('care-file').setInputFiles(file);
  await therapist.getByTestId('choice-good_lines').click();
  assert.equal(await therapist.getByTestId('choice-good_lines').getAttribute('aria-pressed'), 'true');
  await therapist.getByTestId('care-import').click();
  const report = therapist.getByTestId('import-report');
  await report.waitFor();
  assert.equal((await report.getByTestId('report-imported').textContent()).trim(), '3 nye bevillinger importeret');
  const bad = report.getByTestId('bad-line');
  assert.equal(await bad.count(), 1);
  assert.match(await bad.textContent(), /Linje 4.*31-02-2026/);
  await therapist.evaluate(() => window.scrollTo(0, 0));
  await shot(therapist, 'care-time-import', true);
  // The same file again: nothing new.
  await therapist.getByTestId('care-import').click();
  await report.getByTestId('report-nothing-new').waitFor();
  assert.equal((await report.getByTestId('report-imported').textContent()).trim(), '0 nye bevillinger importeret');
  assert.match(await report.getByTestId('report-present').textContent(), /^3 linjer var allerede importeret/);
  // A citizen whose course ended in the spring (its 77-day follow-up has passed) and who has
  // no home care in the next file: the import asks whether it ended.
  const LEFT = 'Inger Ophørt';
  const left = await api(ports.therapist, 'POST', '/citizens', {
    name: LEFT, local_ref: 'HEN-3', address: null, assigned: [], birth_year: 1941, sex: 'female',
  });
  await api(ports.therapist, 'POST', '/courses', {
    citizen_id: left.citizen_id, template_id: null, legal_basis: 'Serviceloven § 83 a',
    start_date: '2026-01-05', planned_weeks: 12, sessions_per_week: 2, minutes_per_session: 15, goals: [],
  });
  // Danish Excel's "CSV (semikolonsepareret)" is Windows-1252, not UTF-8: its Ø arrives intact.
  const excel = [
    'Borgerreference;Virkningsdato;Minutter_pr_uge;Ydelseskode',
    'HEN-1;01-09-2026;300;1.1',
    'SØREN-9;01-09-2026;60;1.1',
    '',
  ].join('\r\n');
  await therapist.getByTestId('care-file').setInputFiles({ name: 'excel.csv', mimeType: 'text/csv', buffer: Buffer.from(excel, 'latin1') });
  await therapist.getByTestId('care-import').click();
  await report.getByTestId('bad-line').filter({ hasText: 'Ingen borger har referencen «SØREN-9»' }).waitFor();
  assert.match(await report.getByTestId('report-present').textContent(), /^1 linje var allerede importeret/);
  // Karen is in the file; Inger, waiting for her follow-up, is not: asked about, and only she.
  assert.equal((await report.getByTestId('not-in-file-title').textContent()).trim(),
    '1 borger, der venter på opfølgning af hjemmeplejetid, er ikke i filen');
  const leftRow = report.getByTestId('not-in-file-row');
  assert.equal(await leftRow.count(), 1);
  assert.match(await leftRow.textContent(), /Inger Ophørt · HEN-3 · Opfølgning \d\d\.06\.2026/);
  // No day is guessed for her: without one the tap asks for it; the latest day is the follow-up's.
  await leftRow.getByTestId('care-ended').click();
  await leftRow.getByRole('alert').filter({ hasText: 'Vælg dagen, hjemmeplejen ophørte' }).waitFor();
  assert.match(await leftRow.getByTestId('care-ended-date').getAttribute('max'), /^2026-06-\d\d$/);
  // Her home care ended in May, before the follow-up's day: recorded with one tap.
  await leftRow.getByTestId('care-ended-date').fill('2026-05-15');
  await leftRow.scrollIntoViewIfNeeded();
  await shot(therapist, 'care-time-not-in-file');
  await leftRow.getByTestId('care-ended').click();
  assert.equal((await leftRow.getByTestId('care-ended-saved').textContent()).trim(), 'Registreret: 0 min/uge fra 15.05.2026');
  const inger = (await api(ports.therapist, 'GET', '/care-time/follow-ups'))
    .find((f) => f.citizen_id === left.citizen_id && f.offset_days === 77);
  assert.deepEqual([inger.status, inger.minutes_per_week], ['recorded', 0]);
  await syncNow(therapist);

  // The effect summary: judged tests, the WHO-5 from the tablet, the minutes' change.
  await therapist.getByTestId('tab-caseload').click();
  await therapist.getByTestId('case-row').filter({ hasText: INCLUDED }).click();
  await therapist.getByTestId('course-tab-effect').click();
  const outcome = (kind) => therapist.locator(`[data-testid=outcome-row][data-test=${kind}]`);
  await outcome('chair_stand_30s').filter({ hasText: 'Forbedret' }).waitFor();
  await outcome('timed_up_and_go').filter({ hasText: 'Uændret' }).waitFor();
  await outcome('grip_strength').filter({ hasText: 'Forværret' }).waitFor();
  assert.match(await outcome('who5').textContent(), /52/);
  assert.match(await therapist.getByTestId('care-baseline').textContent(), /420/);
  const care = await therapist.getByTestId('care-follow-up').allTextContents();
  assert.ok(care.some((c) => /300.*-120 min/.test(c)), `the 77-day follow-up: 300 min/week, 120 fewer (${care})`);
  const effect = await api(ports.therapist, 'GET', `/courses/${course}/effect`);
  assert.equal(effect.care_follow_ups.find((f) => f.offset_days === 77).change_minutes, -120);

  // The follow-up worklist: the course's 77-day and 1-year follow-ups.
  await therapist.getByTestId('tab-follow-ups').click();
  const followUps = therapist.getByTestId('follow-up-row').filter({ hasText: INCLUDED });
  await followUps.first().waitFor();
  const offsets = await followUps.getByTestId('follow-up-offset').allTextContents();
  assert.deepEqual(offsets.map((o) => o.trim()).sort(), ['1 år', '77 dage']);
  await shot(therapist, 'follow-ups');

  // The leader's funnel, on the leader's own laptop after a sync.
  const leader = await h.openPage(browser, 1440, 900, 'leader');
  await h.signIn(leader, ports.leader, 'leder1', '8642');
  await leader.getByTestId('overview').waitFor();
  await syncNow(leader);
  await leader.getByTestId('tab-funnel').click();
  const count = async (key) => Number((await leader.getByTestId(`funnel-${key}`).locator('.funnel-count').textContent()).trim());
  await leader.getByTestId('funnel').waitFor();
  assert.equal(await count('referred'), 2);
  assert.equal(await count('included'), 1);
  assert.equal(await count('not-included'), 1);
  assert.equal(await count('courses'), 1);
});
