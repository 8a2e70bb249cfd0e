// Issue #11 in a real browser (#11 course): a course's effect measured as a side effect of
// ordinary work. The therapist creates a course from a template, sees and edits its test plan;
// the caseload and the tablet's visit prompt the start tests; the assistant's tablet, offline
// behind the relay, has the citizen answer the WHO-5 one tap at a time; back online it syncs.
// The therapist records the start and end tests (explicit phases and dates: nobody waits 12
// weeks), rates the goals, and the effect summary judges each test improved / maintained /
// declined, and prints on A4.
// The WHO-5 is answered in the visit's session, which then goes on as the day's training.
//
// Screenshots: docs/screenshots/{due-tests,who5,effect-summary}.png; the print:
// docs/effect-summary-example.pdf.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as h from './harness.mjs';

const tmp = mkdtempSync(path.join(tmpdir(), 'homerehab-e2e-effect-'));
// A screen that just changed shows its buttons settling (dimmed) for half a second.
const shot = async (page, name) => (await page.waitForTimeout(600), page.screenshot({ path: path.join(h.shots, `${name}.png`), fullPage: false }));
let server, therapistApp, tabletApp, browser, tabletNet;
const ports = {};

before(async () => {
  mkdirSync(h.shots, { recursive: true });
  for (const k of ['server', 'relay', 'therapist', 'tablet']) ports[k] = await h.freePort();
  const serverDir = path.join(tmp, 'server');
  execFileSync(h.bin('sync-server'), ['--data-dir', serverDir, 'seed-demo'], { stdio: 'ignore' });
  server = await h.startServer(serverDir, ports.server);
  tabletNet = h.relay(ports.relay, ports.server);
  await tabletNet.restore();
  therapistApp = await h.startApp(path.join(tmp, 'therapist'), `http://127.0.0.1:${ports.server}`, ports.therapist);
  tabletApp = await h.startApp(path.join(tmp, 'tablet'), `http://127.0.0.1:${ports.relay}`, ports.tablet);
  browser = await h.launchChromium();
});

after(async () => {
  await browser?.close();
  for (const p of [therapistApp, tabletApp, server]) await h.stop(p);
  await tabletNet?.cut();
  rmSync(tmp, { recursive: true, force: true });
});

const CITIZEN = 'Karen Effektsen';
const today = () => new Date().toISOString().slice(0, 10);

async function syncNow(page) {
  await page.getByTestId('sync-now').click();
  await page.getByTestId('status-text').filter({ hasText: 'Alt er synkroniseret' }).waitFor({ timeout: 20000 });
}

// Records one assessment on the course's "Målinger" tab, with its phase and date.
async function assess(page, kind, phase, value, date) {
  await page.getByTestId('assessment-kind').selectOption(kind);
  await page.getByTestId('assessment-phase').selectOption(phase);
  await page.getByTestId('assessment-value').fill(String(value));
  await page.getByTestId('assessment-date').fill(date);
  const rows = await page.getByTestId('assessment-row').count();
  await page.getByTestId('save-assessment').click();
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=assessment-row]').length > n, rows);
}

const outcome = (page, kind) => page.locator(`[data-testid=outcome-row][data-test=${kind}]`);

test('a course measures its own effect: plan, due prompts, WHO-5 offline, tests, goals, summary', async () => {
  const therapist = await h.openPage(browser, 1440, 1000, 'therapist');
  await h.signIn(therapist, ports.therapist, 'terapeut1', '1357');
  await therapist.getByTestId('case-row').first().waitFor();

  // A course from the template, starting today: its start week is now.
  await therapist.getByTestId('tab-new-course').click();
  await therapist.getByTestId('new-citizen').click();
  await therapist.getByTestId('citizen-name').fill(CITIZEN);
  await therapist.getByTestId('citizen-ref').fill('SAG-2026-0111');
  await therapist.getByTestId('citizen-address').fill('Skolegade 9, 7700 Thisted');
  await therapist.getByTestId('assign-assistant').filter({ hasText: 'Lone Mikkelsen' }).click();
  await therapist.getByTestId('template-choice').filter({ hasText: 'Generel styrke, 10 uger' }).click();
  await therapist.getByTestId('goals').fill('Kan selv rejse sig fra stol\nGår til postkassen med rollator');
  await therapist.getByTestId('create-course').click();
  await therapist.getByTestId('program-editor').waitFor();

  // The test plan: the default (30-s chair stand and WHO-5 at start and end) is shown; the
  // therapist adds TUG and grip strength at start and end.
  await therapist.getByTestId('course-tab-effect').click();
  await therapist.getByTestId('test-plan').waitFor();
  for (const [kind, col] of [['chair_stand_30s', 0], ['who5', 0], ['chair_stand_30s', 2], ['who5', 2]]) {
    await therapist.locator(`[data-testid=plan-${kind}-${col}][aria-pressed=true]`).waitFor();
  }
  assert.equal(await therapist.getByTestId('plan-timed_up_and_go-0').getAttribute('aria-pressed'), 'false');
  for (const kind of ['timed_up_and_go', 'grip_strength']) {
    for (const col of [0, 2]) await therapist.getByTestId(`plan-${kind}-${col}`).click();
  }
  await therapist.getByTestId('save-plan').click();
  await therapist.getByTestId('plan-saved').waitFor();
  for (const kind of ['timed_up_and_go', 'grip_strength']) {
    await therapist.locator(`[data-testid=plan-${kind}-0][aria-pressed=true]`).waitFor();
  }
  // Every planned test is incomplete until measured (never "maintained").
  await outcome(therapist, 'timed_up_and_go').filter({ hasText: 'Ufuldstændig' }).waitFor();

  // The caseload says what is missing.
  await therapist.getByTestId('tab-caseload').click();
  const row = therapist.getByTestId('case-row').filter({ hasText: CITIZEN });
  const badge = row.getByTestId('due-badge').filter({ hasText: 'Starttest mangler' });
  await badge.waitFor();
  for (const label of ['WHO-5', /rejse/i]) assert.match(await badge.textContent(), typeof label === 'string' ? new RegExp(label) : label);
  await therapist.getByTestId('caseload-filter').fill('Effekt');
  await therapist.getByTestId('case-row').filter({ hasText: CITIZEN }).getByTestId('due-badge').first().waitFor();
  await shot(therapist, 'due-tests');
  await syncNow(therapist);

  // The tablet gets the course; its visit prompts the start WHO-5. Then the network goes.
  const tablet = await h.openPage(browser, 1280, 800, 'tablet');
  await h.signIn(tablet, ports.tablet, 'assistent1', '2468');
  await tablet.getByRole('heading', { name: 'Dagens besøg' }).waitFor();
  const card = tablet.getByTestId('visit').filter({ hasText: CITIZEN });
  const who5Button = card.getByTestId('due-who5');
  await who5Button.filter({ hasText: 'Starttest mangler' }).waitFor();
  await tabletNet.cut();
  await tablet.getByTestId('sync-now').click();
  await tablet.getByTestId('status-text').filter({ hasText: 'Offline' }).waitFor();

  // Offline: one statement per screen, saved per tap, next one by itself, back possible.
  await who5Button.click();
  await tablet.getByTestId('who5-item').waitFor();
  assert.match(await tablet.locator('.who5-lead').textContent(), /I de sidste 2 uger/);
  assert.match(await tablet.getByTestId('who5-answer-5').textContent(), /Hele tiden/);
  assert.match(await tablet.getByTestId('who5-answer-0').textContent(), /På intet tidspunkt/);
  assert.match(await tablet.getByTestId('who5-attribution').textContent(), /WHO-5/);
  await tablet.getByTestId('who5-progress').filter({ hasText: 'Udsagn 1 af 5' }).waitFor();
  await shot(tablet, 'who5');
  // In English too, the WHO's wording.
  await tablet.getByTestId('language').click();
  await tablet.locator('.who5-lead', { hasText: 'Over the last two weeks' }).waitFor();
  assert.match(await tablet.getByTestId('who5-item').textContent(), /I have felt cheerful and in good spirits/);
  assert.match(await tablet.getByTestId('who5-answer-0').textContent(), /At no time/);
  await tablet.getByTestId('language').click();
  await tablet.locator('.who5-lead', { hasText: 'I de sidste 2 uger' }).waitFor();
  await tablet.getByTestId('who5-answer-3').click();
  await tablet.getByTestId('who5-progress').filter({ hasText: 'Udsagn 2 af 5' }).waitFor();
  // Back to the first: its answer is kept and shown; change it to 2.
  await tablet.getByTestId('who5-back').click();
  await tablet.getByTestId('who5-progress').filter({ hasText: 'Udsagn 1 af 5' }).waitFor();
  await tablet.locator('[data-testid=who5-answer-3][aria-pressed=true]').waitFor();
  await tablet.getByTestId('who5-answer-2').click();
  for (let k = 2; k <= 5; k++) {
    await tablet.getByTestId('who5-progress').filter({ hasText: `Udsagn ${k} af 5` }).waitFor();
    if (k === 3) {
      // A gloved double tap: its second tap lands on the statement that just appeared, and
      // must not answer it.
      await tablet.getByTestId('who5-answer-5').click({ force: true });
      await tablet.waitForTimeout(700);
      assert.match(await tablet.getByTestId('who5-progress').textContent(), /Udsagn 3 af 5/);
      assert.equal(await tablet.locator('[data-testid^=who5-answer][aria-pressed=true]').count(), 0);
    }
    await tablet.getByTestId('who5-answer-2').click();
  }
  // 5 × 2 = raw 10, × 4 = 40.
  await tablet.getByTestId('who5-score').filter({ hasText: 'Score 40 af 100 (råscore 10 × 4)' }).waitFor();
  await tablet.getByTestId('status-text').filter({ hasText: /ændring(er)? venter/ }).waitFor();
  // The visit goes on: the training session the WHO-5 was answered in, done whole, offline.
  await tablet.getByTestId('who5-continue').click();
  await tablet.getByTestId('exercise').waitFor();
  const total = Number((await tablet.locator('.progress').textContent()).match(/af (\d+)/)[1]);
  for (let k = 1; k <= total; k++) {
    await tablet.locator('.progress', { hasText: `Øvelse ${k} af ${total}` }).waitFor();
    const want = Number((await tablet.getByTestId('set-count').textContent()).match(/af (\d+)/)[1]);
    for (let s = 1; s <= want; s++) {
      await tablet.getByTestId('set-done').click();
      await tablet.getByTestId('set-count').filter({ hasText: `${s} af ${want} sæt` }).waitFor();
      if (k === 1 && s === 1) {
        // A double tap on the counter logs one set, not two.
        await tablet.getByTestId('set-done').click({ force: true });
        await tablet.waitForTimeout(700);
        assert.match(await tablet.getByTestId('set-count').textContent(), new RegExp(`^1 af ${want} sæt`));
      }
    }
    await tablet.getByTestId('next').click();
    if (k === 1 && total > 2) {
      // A double tap on "Næste" does not pass the next exercise as skipped.
      await tablet.locator('.progress', { hasText: `Øvelse 2 af ${total}` }).waitFor();
      await tablet.getByTestId('next').click({ force: true });
      await tablet.waitForTimeout(700);
      assert.match(await tablet.locator('.progress').textContent(), new RegExp(`Øvelse 2 af ${total}`));
    }
  }
  await tablet.getByTestId('condition').filter({ hasText: '4' }).first().click();
  await tablet.getByTestId('finish-save').click();
  await tablet.getByTestId('summary').waitFor();
  await tablet.getByTestId('back-to-visits').click();
  // Answered: the start WHO-5 is no longer asked for.
  await card.waitFor();
  await tablet.waitForTimeout(500);
  assert.equal(await card.getByTestId('due-who5').filter({ hasText: 'Starttest' }).count(), 0);

  // Online again: the answers reach the therapist.
  await tabletNet.restore();
  await syncNow(tablet);
  await syncNow(therapist);

  // The tests, start and end, with explicit phases and dates (the course's last week is
  // 10 weeks away; the summary pairs by phase). Chosen to judge: chair stand 8 → 12
  // improved (MDC 2.5), TUG 12 → 11 s maintained (MDC 2.08), grip 20 → 14 kg declined
  // (MCID 5), WHO-5 40 → 60 improved (10 points).
  await row.click();
  await therapist.getByTestId('course-tab-assessments').click();
  await therapist.getByTestId('assessments').waitFor();
  const d = today();
  for (const [kind, start, end] of [['chair_stand_30s', 8, 12], ['timed_up_and_go', 12, 11], ['grip_strength', 20, 14]]) {
    await assess(therapist, kind, 'start', start, d);
    await assess(therapist, kind, 'end', end, d);
  }
  await assess(therapist, 'who5', 'end', 60, d);

  // Goal attainment, big buttons.
  await therapist.getByTestId('course-tab-effect').click();
  await therapist.getByTestId('goal-attainment').waitFor();
  await therapist.getByTestId('goal-0-achieved').click();
  await therapist.locator('[data-testid=goal-0-achieved][aria-pressed=true]').waitFor();
  await therapist.getByTestId('goal-1-partly_achieved').click();
  await therapist.locator('[data-testid=goal-1-partly_achieved][aria-pressed=true]').waitFor();

  // The summary: judged start → end, never colour alone.
  await outcome(therapist, 'chair_stand_30s').filter({ hasText: 'Forbedret' }).waitFor();
  await outcome(therapist, 'timed_up_and_go').filter({ hasText: 'Uændret' }).waitFor();
  await outcome(therapist, 'grip_strength').filter({ hasText: 'Forværret' }).waitFor();
  const who5 = outcome(therapist, 'who5');
  await who5.filter({ hasText: 'Forbedret' }).waitFor();
  assert.match(await who5.textContent(), /40.*60/);
  const goals = await therapist.getByTestId('summary-goal').allTextContents();
  assert.deepEqual(goals, ['Kan selv rejse sig fra stol: Opfyldt', 'Går til postkassen med rollator: Delvist opfyldt']);
  assert.match(await therapist.getByTestId('sessions-done').textContent(), /^1 af 20 planlagte træninger gennemført/);
  await therapist.evaluate(() => window.scrollTo(0, 0));
  await therapist.screenshot({ path: path.join(h.shots, 'effect-summary.png'), fullPage: true });

  // Printed in Danish on A4: navigation, editors and buttons hidden.
  await therapist.emulateMedia({ media: 'print' });
  assert.equal(await therapist.getByTestId('test-plan').isVisible(), false, 'the editors are not printed');
  assert.equal(await therapist.getByTestId('print').isVisible(), false);
  assert.equal(await therapist.locator('nav.tabs').first().isVisible(), false);
  const pdf = path.join(h.repo, 'docs/effect-summary-example.pdf');
  await therapist.pdf({ path: pdf, format: 'A4', printBackground: true });
  assert.ok(statSync(pdf).size > 10000, 'a PDF was written');
  await therapist.emulateMedia({ media: 'screen' });
});
