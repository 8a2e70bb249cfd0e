// The therapist's side in a real browser, with three devices on one real sync server: the
// therapist's laptop, an assistant's tablet (whose network the test cuts on its own through a
// TCP relay) and the leader's laptop.
//
// The therapist creates a citizen and a course from a template, edits the program (library
// search, add, move, remove, dosage) and syncs. The tablet syncs, loses its network, and the
// assistant logs a whole session offline. Meanwhile the therapist changes the program again.
// The tablet's network returns: its session reaches the therapist — in the history, against
// the revision it was done on, with its feedback and in the trend chart — and the tablet's next
// session uses the therapist's new program. The therapist records an assessment; the leader
// sees the team's numbers. The citizen manages sooner: the therapist shortens the course and
// changes how often, prints the citizen's copy of the program, then completes the course,
// after which its frame is fixed.
//
// Screenshots: docs/screenshots/{library,library-own-exercise,guided-exercise-media,
// caseload,new-course,program-editor,history-session,
// history-chart,course-end-early,assessments,course-frame,program-sheet,leader-overview,
// guided-exercise-rest-timer,next-session-new-program}.png; the citizen's printed program:
// docs/program-sheet-example.pdf.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as h from './harness.mjs';

const tmp = mkdtempSync(path.join(tmpdir(), 'homerehab-e2e-therapist-'));
// A screen that just changed shows its buttons settling (dimmed) for half a second.
const shot = async (page, name) => (await page.waitForTimeout(600), page.screenshot({ path: path.join(h.shots, `${name}.png`), fullPage: false }));
let server, therapistApp, tabletApp, leaderApp, browser, tabletNet;
let ports = {};

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

const CITIZEN = 'Ingrid Testesen';
// A photo of 1 × 1 pixel, standing in for one in which a person can be recognised.
const PERSON_PHOTO = path.join(tmp, 'helper.png');
writeFileSync(PERSON_PHOTO, Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64'));
const ICON_SHA256 = createHash('sha256').update(readFileSync(path.join(h.repo, 'app/shell/icons/icon.png'))).digest('hex');
const OWN_EXERCISE = 'Trappen til kælderen';

async function syncNow(page) {
  await page.getByTestId('sync-now').click();
  await page.getByTestId('status-text').filter({ hasText: 'Alt er synkroniseret' }).waitFor({ timeout: 20000 });
}

// Types into the library search and waits for its answer (the hit list is replaced, so a
// click before that would land on whatever hit takes the place).
async function search(page, text) {
  const total = page.getByTestId('library-total');
  const before = (await total.count()) ? await total.textContent() : null;
  await page.getByTestId('library-search').fill(text);
  await page.waitForFunction(
    (b) => document.querySelector('[data-testid=library-total]')?.textContent !== b,
    before,
  );
}

// Saves the program; fails with the editor's own error message if it refuses.
async function saveProgram(page, expect) {
  await page.getByTestId('save-program').click();
  const refused = page.locator('.save-bar .error:not(:empty)');
  await Promise.race([
    page.getByTestId('program-saved').filter({ hasText: expect }).waitFor({ timeout: 10000 }).catch(async (e) => {
      const saved = page.getByTestId('program-saved');
      throw new Error(`${e.message}; saved notice: ${(await saved.count()) ? await saved.textContent() : 'none'}`);
    }),
    refused.waitFor().then(async () => {
      throw new Error(`the program was not saved: ${await refused.textContent()}`);
    }),
  ]);
}

// The program editor's lines, in order: [title, sets].
async function programLines(page) {
  const lines = page.getByTestId('program-line');
  const out = [];
  for (let i = 0; i < (await lines.count()); i++) {
    const line = lines.nth(i);
    out.push([(await line.getByTestId('program-line-title').textContent()).trim(), await line.getByTestId('dose-sets').inputValue()]);
  }
  return out;
}

test('a course from the therapist, trained offline on a tablet, back in the history', async () => {
  const therapist = await h.openPage(browser, 1920, 1080, 'therapist');
  await h.signIn(therapist, ports.therapist, 'terapeut1', '1357');
  await therapist.getByRole('heading', { name: 'Forløb' }).waitFor();
  await therapist.getByTestId('case-row').first().waitFor();
  const seeded = await therapist.getByTestId('case-row').count();
  assert.equal(seeded, 10, 'the demo team has ten courses');

  // The library browser; the municipality's own exercise with a photo.
  await therapist.getByTestId('tab-library').click();
  await therapist.getByTestId('library-hit').first().waitFor();
  await search(therapist, 'balance');
  const tandem = therapist.getByTestId('library-hit').filter({ has: therapist.locator('strong', { hasText: /^Tandemstand$/ }) });
  await tandem.getByTestId('library-add').click();
  await therapist.getByTestId('exercise-detail').filter({ hasText: 'Tandemstand' }).waitFor();
  await shot(therapist, 'library');
  await therapist.getByTestId('new-exercise').locator('summary').click();
  await therapist.getByTestId('own-title').fill(OWN_EXERCISE);
  await therapist.getByTestId('own-summary').fill('Op og ned ad borgerens egen kældertrappe med fast greb i gelænderet.');
  await therapist.getByTestId('own-steps').fill('Stå ved nederste trin\nGå tre trin op\nVend, og gå ned igen');
  await therapist.getByTestId('own-save').click();
  await therapist.getByTestId('media-upload').waitFor();
  // First a photo in which the citizen's helper can be recognised (consent recorded): shown in
  // the app, never on the citizen's paper. Then one in which nobody can.
  await therapist.getByTestId('media-file').setInputFiles(PERSON_PHOTO);
  await therapist.getByTestId('media-owner').fill('Thisted Kommune');
  await therapist.getByTestId('media-shows-person').check();
  await therapist.getByTestId('consent-who').fill('Lone Mikkelsen');
  await therapist.getByTestId('consent-scope').fill('intern brug i kommunen');
  await therapist.getByTestId('media-upload-save').click();
  await therapist.getByTestId('media-uploaded').waitFor();
  await therapist.getByTestId('media-shows-person').uncheck();
  await therapist.getByTestId('media-file').setInputFiles(path.join(h.repo, 'app/shell/icons/icon.png'));
  await therapist.getByTestId('media-upload-save').click();
  await therapist.locator(`.media-upload img[src*="${ICON_SHA256}"]`).waitFor();
  await shot(therapist, 'library-own-exercise');

  // A new citizen and a course from the 10-week §83a strength template.
  await therapist.getByTestId('tab-new-course').click();
  await therapist.getByTestId('new-citizen').click();
  await therapist.getByTestId('citizen-name').fill(CITIZEN);
  await therapist.getByTestId('citizen-ref').fill('SAG-2026-0042');
  await therapist.getByTestId('citizen-address').fill('Havnevej 3, 7700 Thisted');
  await therapist.getByTestId('assign-assistant').filter({ hasText: 'Lone Mikkelsen' }).click();
  await therapist.getByTestId('template-choice').filter({ hasText: 'Generel styrke, 10 uger' }).click();
  assert.equal(await therapist.getByTestId('weeks').inputValue(), '10', 'the template fills the frame');
  await therapist.getByTestId('goals').fill('Kan selv rejse sig fra stol\nGår til postkassen med rollator');
  await therapist.screenshot({ path: path.join(h.shots, 'new-course.png'), fullPage: true });
  await therapist.getByTestId('create-course').click();

  // The program editor opens on the template's program (revision 1).
  await therapist.getByTestId('program-editor').waitFor();
  await therapist.getByTestId('revision-number').filter({ hasText: 'Revision 1' }).waitFor();
  const fromTemplate = await programLines(therapist);
  assert.ok(fromTemplate.length >= 5, `the template has its exercises: ${JSON.stringify(fromTemplate)}`);

  // Library search adds a balance exercise; it moves up one; the first line goes; 3 sets.
  await search(therapist, 'tandem');
  const hit = therapist.getByTestId('library-hit').filter({ hasText: /tandem/i }).first();
  await hit.waitFor();
  const added = (await hit.locator('strong').textContent()).trim();
  await hit.getByTestId('library-add').click();
  const lines = therapist.getByTestId('program-line');
  await lines.filter({ hasText: added }).waitFor();
  await lines.last().getByTestId('line-up').click();
  await lines.first().getByTestId('line-remove').click();
  await lines.first().getByTestId('dose-sets').fill('3');
  await search(therapist, 'kælder');
  await therapist.getByTestId('library-hit').filter({ hasText: OWN_EXERCISE }).getByTestId('library-add').click();
  await lines.filter({ hasText: OWN_EXERCISE }).waitFor();
  await therapist.getByTestId('change-summary').fill('Tandemstand og kældertrappen tilføjet, 3 sæt');
  const edited = await programLines(therapist);
  await saveProgram(therapist, 'Gemt som revision 2');
  assert.deepEqual(await programLines(therapist), edited, 'the saved program is the edited one');
  assert.equal(edited.length, fromTemplate.length + 1, 'two added, one removed');
  assert.equal(edited[edited.length - 3][0], added, 'the added exercise moved up one');
  assert.equal(edited[edited.length - 1][0], OWN_EXERCISE);
  await therapist.evaluate(() => window.scrollTo(0, 0));
  await shot(therapist, 'program-editor');
  await syncNow(therapist);

  // The assistant's tablet gets the course, then loses its network.
  const tablet = await h.openPage(browser, 1280, 800, 'tablet');
  await h.signIn(tablet, ports.tablet, 'assistent1', '2468');
  await tablet.getByRole('heading', { name: 'Dagens besøg' }).waitFor();
  const card = tablet.getByTestId('visit').filter({ hasText: CITIZEN });
  await card.waitFor();
  // Photos and videos for the programs come down while there is a network.
  await tablet.getByTestId('fetch-media').click();
  await tablet.getByTestId('media-status').filter({ hasText: /1\.\d kB af/ }).waitFor();
  await tabletNet.cut();
  await tablet.getByTestId('sync-now').click();
  await tablet.getByTestId('status-text').filter({ hasText: 'Offline' }).waitFor();

  // Offline: the whole session, against revision 2 (3 sets on the first exercise).
  await card.getByTestId('start-session').click();
  await tablet.getByTestId('exercise').waitFor();
  const total = Number((await tablet.locator('.progress').textContent()).match(/af (\d+)/)[1]);
  assert.equal(total, edited.length);
  assert.match(await tablet.getByTestId('set-count').textContent(), /af 3 sæt/);
  for (let k = 1; k <= total; k++) {
    await tablet.locator('.progress', { hasText: `Øvelse ${k} af ${total}` }).waitFor();
    const want = Number((await tablet.getByTestId('set-count').textContent()).match(/af (\d+)/)[1]);
    for (let s = 1; s <= want; s++) {
      await tablet.getByTestId('set-done').click();
      await tablet.getByTestId('set-count').filter({ hasText: `${s} af ${want} sæt` }).waitFor();
      if (k === 1 && s === 1) {
        // The prescribed 60 s rest between sets starts by itself.
        const rest = tablet.getByTestId('rest-timer');
        await rest.and(tablet.locator('.running')).waitFor();
        assert.match(await rest.getByTestId('rest-timer-value').textContent(), /^(60|59|58)$/);
        await shot(tablet, 'guided-exercise-rest-timer');
      }
    }
    await tablet.getByTestId('borg').getByRole('button', { name: String(3 + (k % 3)), exact: true }).click();
    await tablet.getByTestId('pain').getByRole('button', { name: k === 2 ? '7' : '1', exact: true }).click();
    if (k === total) {
      // The municipality's exercise shows its photo, offline, from the tablet's own copy.
      assert.equal((await tablet.getByTestId('exercise-title').textContent()).trim(), OWN_EXERCISE);
      const photo = tablet.getByTestId('exercise-media').locator('img');
      await photo.first().waitFor();
      assert.equal(await photo.count(), 2, 'both photos: the consent covers the app');
      await tablet.waitForFunction(() => [...document.querySelectorAll('[data-testid=exercise-media] img')].some((i) => i.naturalWidth === 128));
      await shot(tablet, 'guided-exercise-media');
    }
    await tablet.getByTestId('next').click();
  }
  await tablet.getByTestId('condition').filter({ hasText: '3 · Middel' }).click();
  await tablet.getByTestId('note').fill('Ondt i knæet ved øvelse 2');
  await tablet.getByTestId('finish-save').click();
  await tablet.getByTestId('summary').waitFor();

  // Meanwhile, online, the therapist raises the first exercise to 4 sets: revision 3.
  await lines.first().getByTestId('dose-sets').fill('4');
  await therapist.getByTestId('change-summary').fill('4 sæt');
  await saveProgram(therapist, 'Gemt som revision 3');
  await syncNow(therapist);

  // The tablet's network returns: its session goes up, revision 3 comes down.
  await tabletNet.restore();
  await syncNow(tablet);
  await tablet.getByTestId('back-to-visits').click();
  await card.getByTestId('start-session').click();
  await tablet.getByTestId('exercise').waitFor();
  await tablet.getByTestId('set-count').filter({ hasText: '0 af 4 sæt' }).waitFor();
  await shot(tablet, 'next-session-new-program');
  await syncNow(tablet);

  // The therapist sees the session: flagged for pain in the caseload, in the history with its
  // revision, feedback and note, and in the trend chart.
  await syncNow(therapist);
  await therapist.getByTestId('tab-caseload').click();
  const row = therapist.getByTestId('case-row').filter({ hasText: CITIZEN });
  await row.getByTestId('flag').filter({ hasText: 'Smerte 7/10' }).waitFor();
  await shot(therapist, 'caseload');
  await row.click();
  await therapist.getByTestId('history').waitFor();
  const done = therapist.getByTestId('history-session').filter({ hasText: 'Gennemført' });
  await done.waitFor();
  assert.equal(await done.count(), 1);
  assert.equal((await done.getByTestId('history-revision').textContent()).trim(), 'Revision 2');
  assert.match(await done.getByTestId('history-note').textContent(), /Ondt i knæet ved øvelse 2/);
  assert.equal(await done.getByTestId('history-exercise').count(), total);
  assert.ok(await therapist.getByTestId('history-session').filter({ hasText: 'I gang' }).count() === 1,
    'the tablet\'s second session (started on revision 3) shows as in progress');
  await therapist.getByTestId('trend-chart').waitFor();
  assert.ok((await therapist.locator('[data-testid=trend-chart] rect.bar').count()) >= 1, 'the chart has the session');
  await therapist.getByTestId('trend-choice').nth(1).click();
  await therapist.locator('[data-testid=trend-chart] circle.pain').first().waitFor();
  await shot(therapist, 'history-session');

  // A seeded course with weeks of history: the chart a therapist reviews.
  await therapist.getByTestId('tab-caseload').click();
  await therapist.getByTestId('case-row').filter({ hasText: 'Henning Jørgensen' }).click();
  await therapist.getByTestId('trend-chart').waitFor();
  assert.ok((await therapist.locator('[data-testid=trend-chart] rect.bar').count()) >= 5, 'weeks of sessions in the chart');
  await shot(therapist, 'history-chart');
  // That course ends early: one tap on a coded reason (what the leaders' funnel counts), the
  // therapist's words optional, then confirmed; nothing is saved before.
  await therapist.getByTestId('course-tab-program').click();
  await therapist.getByTestId('course-ended_early').click();
  const confirmEnd = therapist.getByTestId('end-confirm');
  await therapist.getByTestId('end-reason-choice').first().waitFor();
  assert.equal(await therapist.getByTestId('end-reason-choice').count(), 7, 'the shipped reasons');
  assert.ok(await confirmEnd.isDisabled(), 'no reason chosen yet');
  await therapist.getByTestId('end-reason-choice').filter({ hasText: 'Indlagt på sygehus' }).click();
  await therapist.getByTestId('end-reason').fill('Indlagt med lungebetændelse');
  assert.ok(await confirmEnd.isEnabled());
  await shot(therapist, 'course-end-early');
  await confirmEnd.click();
  await therapist.getByTestId('course-status-label').filter({ hasText: 'Afbrudt' }).waitFor();
  assert.equal(await therapist.getByTestId('end-early').count(), 0, 'the question closes');
  await therapist.getByTestId('tab-caseload').click();
  await therapist.getByTestId('case-row').filter({ hasText: CITIZEN }).click();
  await therapist.getByTestId('history').waitFor();

  // An assessment at the start of the course.
  await therapist.getByTestId('course-tab-assessments').click();
  await therapist.getByTestId('assessment-kind').selectOption('chair_stand_30s');
  await therapist.getByTestId('assessment-value').fill('8');
  await therapist.getByTestId('save-assessment').click();
  await therapist.getByTestId('assessment-row').filter({ hasText: '8' }).waitFor();
  await shot(therapist, 'assessments');
  await syncNow(therapist);

  // The leader's overview counts the team, and the assistant's session.
  const leader = await browser.newPage({ viewport: { width: 1920, height: 1080 }, ...h.DANISH_CLOCK });
  await h.signIn(leader, ports.leader, 'leder1', '8642');
  await leader.getByTestId('overview').waitFor();
  await leader.getByTestId('case-row').filter({ hasText: CITIZEN }).waitFor();
  const activeRows = await leader.getByTestId('case-row').filter({ hasText: 'Aktivt' }).count();
  assert.ok(activeRows >= 1);
  assert.equal(Number(await leader.getByTestId('tile-active').locator('.tile-value').textContent()), activeRows,
    'the tile counts the active courses listed');
  const lone = leader.getByTestId('staff-row').filter({ hasText: 'Lone Mikkelsen' });
  assert.ok(Number(await lone.locator('td').nth(1).textContent()) >= 1);
  await leader.getByTestId('case-row').filter({ hasText: CITIZEN }).waitFor();
  await shot(leader, 'leader-overview');
  // The leader reads but does not edit: no program or assessment tabs.
  await leader.getByTestId('case-row').filter({ hasText: CITIZEN }).click();
  await leader.getByTestId('history').waitFor();
  assert.equal(await leader.getByTestId('course-tab-program').count(), 0);

  // The citizen manages on her own sooner (the evaluation's fixed ten weeks kept such citizens
  // in training): the therapist shortens the course to 8 weeks, three times a week for 20
  // minutes. Nothing is saved before "Gem ramme", which waits for whole numbers; the
  // caseload's week count follows.
  await therapist.getByTestId('course-tab-program').click();
  const frameText = therapist.getByTestId('course-frame-text');
  const before = (await frameText.textContent()).trim();
  assert.match(before, /^10 uger · 2×\/uge · 30 min$/);
  await therapist.getByTestId('course-frame-edit').click();
  await therapist.getByTestId('frame-weeks').fill('');
  assert.ok(await therapist.getByTestId('frame-save').isDisabled(), 'no weeks: nothing to save');
  // Past the rule's bounds (shared's, not the screen's): the app says so, nothing is saved.
  await therapist.getByTestId('frame-weeks').fill('200');
  await therapist.getByTestId('frame-save').click();
  await therapist.getByTestId('course-frame').getByRole('alert').filter({ hasText: '104' }).waitFor();
  assert.equal((await frameText.textContent()).trim(), before, 'refused, not saved');
  await therapist.getByTestId('frame-weeks').fill('8');
  await therapist.getByTestId('frame-per-week').fill('3');
  await therapist.getByTestId('frame-minutes').fill('20');
  assert.equal((await frameText.textContent()).trim(), before, 'not saved yet');
  await shot(therapist, 'course-frame');
  await therapist.getByTestId('frame-save').click();
  await therapist.getByTestId('course-frame-form').waitFor({ state: 'detached' });
  assert.equal((await frameText.textContent()).trim(), '8 uger · 3×/uge · 20 min');
  await therapist.getByTestId('tab-caseload').click();
  await therapist.getByTestId('case-row').filter({ hasText: CITIZEN })
    .locator('.case-week').filter({ hasText: /af 8$/ }).waitFor();
  await therapist.getByTestId('case-row').filter({ hasText: CITIZEN }).click();
  await therapist.getByTestId('course-tab-program').click();
  assert.equal((await therapist.getByTestId('course-frame-text').textContent()).trim(),
    '8 uger · 3×/uge · 20 min', 'kept in the course');

  // The citizen's own copy of the program, to print and leave in the home: the saved program's
  // exercises in order, the municipality's photo on its own exercise (nobody can be recognised
  // in it) and the library's drawings on the others, the new frame, and the weeks left to
  // tick with a box for each of the three sessions. Paper and PDF are the browser's print.
  const savedLines = (await programLines(therapist)).map(([title]) => title);
  // An edit not yet saved would be missing from the paper: the screen says to save first.
  const firstSets = therapist.getByTestId('program-line').first().getByTestId('dose-sets');
  const setsBefore = await firstSets.inputValue();
  await firstSets.fill(String(Number(setsBefore) + 1));
  await therapist.getByTestId('open-program-sheet').click();
  await therapist.getByTestId('sheet-save-first').waitFor();
  assert.equal(await therapist.getByTestId('program-sheet').count(), 0, 'not opened');
  await firstSets.fill(setsBefore);
  await therapist.getByTestId('open-program-sheet').click();
  const sheet = therapist.getByTestId('program-sheet');
  await sheet.waitFor();
  const exercises = sheet.getByTestId('sheet-exercise');
  const titles = (await exercises.locator('h3').allTextContents()).map((t) => t.replace(/^\d+\s*/, '').trim());
  assert.deepEqual(titles, savedLines, 'the sheet is the saved program');
  assert.match(await sheet.getByTestId('sheet-citizen').textContent(), new RegExp(CITIZEN));
  assert.match(await sheet.getByTestId('sheet-frame').textContent(), /^8 uger · 3 gange om ugen · ca\. 20 minutter/);
  const own = exercises.filter({ hasText: OWN_EXERCISE });
  assert.match(await own.locator('img').getAttribute('src'), new RegExp(`^/media/${ICON_SHA256}\\?k=`),
    'the photo in which nobody can be recognised, from the device');
  await therapist.getByTestId('sheet-person-left-out').waitFor();
  const drawings = await exercises.filter({ hasNotText: OWN_EXERCISE }).locator('img').evaluateAll((imgs) => imgs.map((i) => i.getAttribute('src')));
  assert.equal(drawings.length, savedLines.length - 1);
  assert.ok(drawings.every((src) => src.startsWith('/illustrations/')), drawings.join(', '));
  await therapist.waitForFunction(() => [...document.querySelectorAll('.sheet-picture')].every((i) => i.complete && i.naturalWidth > 0));
  const weeks = sheet.getByTestId('sheet-week');
  // The course started today: all eight of its weeks, from today.
  assert.equal(await weeks.count(), 8);
  assert.match(await weeks.first().locator('th').innerText(), /^Træningsuge 1\n/);
  assert.match(await weeks.last().locator('th').innerText(), /^Træningsuge 8\n/);
  assert.equal(await weeks.first().locator('.tick-box').count(), 3);
  assert.match(await sheet.getByTestId('sheet-safety').textContent(), /Ring 112/);
  assert.match(await sheet.getByTestId('sheet-version').textContent(), /^Version \d+ af programmet, lavet \d+\. \p{L}+ \d{4} · Udskrevet/u);
  await therapist.evaluate(() => window.scrollTo(0, 0));
  await shot(therapist, 'program-sheet');
  const sheetPdf = path.join(h.repo, 'docs/program-sheet-example.pdf');
  await therapist.pdf({ path: sheetPdf, format: 'A4', printBackground: true });
  const sheetPages = path.join(tmp, 'sheet-pages');
  mkdirSync(sheetPages, { recursive: true });
  execFileSync('pdftoppm', ['-png', '-r', '60', sheetPdf, path.join(sheetPages, 'page')]);
  // Nine exercises in large print, the rules and the weeks: more than one A4 page, and not a
  // page an exercise (each is kept whole on its page).
  const pageCount = readdirSync(sheetPages).length;
  assert.ok(pageCount >= 2 && pageCount <= savedLines.length, `${pageCount} pages`);
  await therapist.getByTestId('sheet-back').click();
  await therapist.getByTestId('program-editor').waitFor();

  // At the end of the course the therapist completes it; it leaves the tablet's visits. A
  // completed course keeps the frame it ran with: the change is no longer offered.
  await therapist.getByTestId('course-completed').click();
  await therapist.getByTestId('course-status-label').filter({ hasText: 'Afsluttet' }).waitFor();
  await therapist.getByTestId('course-frame-edit').waitFor({ state: 'detached' });
  assert.equal((await therapist.getByTestId('course-frame-text').textContent()).trim(),
    '8 uger · 3×/uge · 20 min');
  await syncNow(therapist);
  await tablet.goto(`http://127.0.0.1:${ports.tablet}/`);
  await tablet.getByTestId('visit').first().waitFor();
  await syncNow(tablet);
  await tablet.getByTestId('visit').filter({ hasText: CITIZEN }).waitFor({ state: 'detached' });
});
