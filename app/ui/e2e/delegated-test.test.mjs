// Issue #11 in a real browser (#11 plan): a test the therapist delegates to the assistant.
// The therapist creates a course from a template and sees the template's test plan before
// creating it, delegates the 30-s chair stand there ("Uddelegeret til assistent"); the
// assistant's tablet, offline behind the relay, gets a big button on the visit, enters the
// result on a number screen with its unit and range (a value out of range is refused); back
// online, the therapist sees the result with who measured it and where.
//
// Screenshots: docs/screenshots/{new-course-test-plan,delegated-test}.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as h from './harness.mjs';

const tmp = mkdtempSync(path.join(tmpdir(), 'homerehab-e2e-delegated-'));
const shot = (page, name) => page.screenshot({ path: path.join(h.shots, `${name}.png`), fullPage: false });
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

const CITIZEN = 'Ruth Uddelegeret';
const pressed = (page, id) => page.locator(`[data-testid=${id}][aria-pressed=true]`);

async function syncNow(page) {
  await page.getByTestId('sync-now').click();
  await page.getByTestId('status-text').filter({ hasText: 'Alt er synkroniseret' }).waitFor({ timeout: 20000 });
}

test('a delegated chair stand: planned from the template, entered on the tablet offline, seen with who and where', async () => {
  const therapist = await h.openPage(browser, 1440, 1000, 'therapist');
  await h.signIn(therapist, ports.therapist, 'terapeut1', '1357');
  await therapist.getByTestId('case-row').first().waitFor();

  // A new course: without a template the default plan shows; the template's plan replaces it.
  await therapist.getByTestId('tab-new-course').click();
  await therapist.getByTestId('new-citizen').click();
  await therapist.getByTestId('citizen-name').fill(CITIZEN);
  await therapist.getByTestId('citizen-ref').fill('SAG-2026-0222');
  await therapist.getByTestId('citizen-address').fill('Vestergade 3, 7700 Thisted');
  await therapist.getByTestId('assign-assistant').filter({ hasText: 'Lone Mikkelsen' }).click();
  const plan = therapist.getByTestId('new-course-plan');
  await plan.waitFor();
  await pressed(therapist, 'plan-chair_stand_30s-0').waitFor();
  assert.equal(await therapist.getByTestId('plan-timed_up_and_go-0').getAttribute('aria-pressed'), 'false');
  // Nothing unplanned can be delegated.
  assert.equal(await therapist.getByTestId('plan-grip_strength-delegated').isDisabled(), true);
  await therapist.getByTestId('template-choice').filter({ hasText: 'Efter hoftebrud' }).click();
  await pressed(therapist, 'plan-timed_up_and_go-0').waitFor();
  await pressed(therapist, 'plan-timed_up_and_go-1').waitFor();
  await pressed(therapist, 'plan-timed_up_and_go-2').waitFor();
  // Delegated before the course exists.
  await therapist.getByTestId('plan-chair_stand_30s-delegated').click();
  await pressed(therapist, 'plan-chair_stand_30s-delegated').waitFor();
  await plan.scrollIntoViewIfNeeded();
  await shot(therapist, 'new-course-test-plan');
  await therapist.getByTestId('create-course').click();
  await therapist.getByTestId('program-editor').waitFor();
  // The course has the plan that was shown.
  await therapist.getByTestId('course-tab-effect').click();
  await therapist.getByTestId('test-plan').waitFor();
  await pressed(therapist, 'plan-chair_stand_30s-delegated').waitFor();
  await pressed(therapist, 'plan-timed_up_and_go-1').waitFor();
  assert.equal(await therapist.getByTestId('plan-timed_up_and_go-delegated').getAttribute('aria-pressed'), 'false');
  await syncNow(therapist);

  // The tablet: the visit offers the delegated chair stand; then the network goes.
  const tablet = await h.openPage(browser, 1280, 800, 'tablet');
  await h.signIn(tablet, ports.tablet, 'assistent1', '2468');
  await tablet.getByRole('heading', { name: 'Dagens besøg' }).waitFor();
  const card = tablet.getByTestId('visit').filter({ hasText: CITIZEN });
  const measure = card.locator('[data-testid=due-delegated][data-test=chair_stand_30s]');
  await measure.filter({ hasText: 'Starttest mangler' }).waitFor();
  assert.match(await measure.textContent(), /Mål: 30 sekunders rejse-sætte-sig/);
  // The TUG is the therapist's: no button for it.
  assert.equal(await card.locator('[data-testid=due-delegated][data-test=timed_up_and_go]').count(), 0);
  const box = await measure.boundingBox();
  assert.ok(box.height >= 48 && box.width >= 48, `a gloved finger's target: ${JSON.stringify(box)}`);
  await tabletNet.cut();
  await tablet.getByTestId('sync-now').click();
  await tablet.getByTestId('status-text').filter({ hasText: 'Offline' }).waitFor();

  // Offline: the number screen with unit and range, big − and +.
  await measure.click();
  await tablet.getByTestId('delegated-test-name').filter({ hasText: '30 sekunders rejse-sætte-sig' }).waitFor();
  assert.equal(await tablet.getByTestId('delegated-phase').textContent(), 'Starttest');
  assert.equal(await tablet.getByTestId('delegated-unit').textContent(), 'gange');
  assert.equal(await tablet.getByTestId('delegated-range').textContent(), 'Mellem 0 og 60 gange');
  for (const id of ['value-minus', 'value-plus', 'save-delegated', 'place-home', 'place-clinic']) {
    const b = await tablet.getByTestId(id).boundingBox();
    assert.ok(b.height >= 48 && b.width >= 48, `${id}: ${JSON.stringify(b)}`);
  }
  await tablet.getByTestId('delegated-value').fill('75');
  await tablet.getByTestId('save-delegated').click();
  await tablet.getByTestId('delegated-error').filter({ hasText: 'Skriv et helt tal mellem 0 og 60 gange' }).waitFor();
  await tablet.getByTestId('delegated-value').fill('10');
  await tablet.getByTestId('value-plus').click();
  assert.equal(await tablet.getByTestId('delegated-value').inputValue(), '11');
  await pressed(tablet, 'place-home').waitFor();
  await shot(tablet, 'delegated-test');
  // In English too.
  await tablet.getByTestId('language').click();
  await tablet.getByTestId('delegated-range').filter({ hasText: 'Between 0 and 60 stands' }).waitFor();
  await tablet.getByTestId('language').click();
  await tablet.getByTestId('delegated-range').filter({ hasText: 'Mellem 0 og 60 gange' }).waitFor();
  await tablet.getByTestId('save-delegated').click();
  await tablet.getByTestId('delegated-saved').waitFor();
  await tablet.getByTestId('status-text').filter({ hasText: /ændring(er)? venter/ }).waitFor();
  await tablet.getByTestId('delegated-to-visits').click();
  await card.waitFor();
  await tablet.waitForTimeout(500);
  assert.equal(await card.locator('[data-testid=due-delegated][data-test=chair_stand_30s]').count(), 0, 'measured: no longer asked for');

  // Online again: the server admits it; the therapist sees who measured it and where.
  await tabletNet.restore();
  await syncNow(tablet);
  await syncNow(therapist);
  await therapist.getByTestId('tab-caseload').click();
  await therapist.getByTestId('case-row').filter({ hasText: CITIZEN }).click();
  await therapist.getByTestId('course-tab-assessments').click();
  const row = therapist.getByTestId('assessment-row').filter({ hasText: 'rejse-sætte-sig' });
  await row.waitFor();
  const text = await row.textContent();
  assert.match(text, /Lone Mikkelsen/);
  assert.match(text, /hjemme/);
  assert.match(text, /11 gange/);
  await therapist.getByTestId('course-tab-effect').click();
  const outcome = therapist.locator('[data-testid=outcome-row][data-test=chair_stand_30s]');
  await outcome.getByTestId('measured-by').filter({ hasText: 'målt af Lone Mikkelsen, hjemme' }).waitFor();
});
