// `scripts/bench app`: how fast the app is for the people holding it, measured with the real
// processes and Debian's chromium, on the demo data and on a year of history.
//
// - start → today's visits: homerehab-app spawned on a signed-in device with a PIN → its API
//   answers → the page (wasm) shows the unlock screen → PIN → the first visit card is on
//   screen. The keypad taps themselves are not counted (they are the person's time).
// - the therapist's caseload and the longest course history, first paint after the click;
// - a tap on "Sæt udført" until the new count is on screen (includes the durable SQLite
//   commit in the app core), and the app core's own time per durable set over HTTP;
// - the wasm bundle, raw and gzip.
//
// Needs the release binaries in $HOMEREHAB_BIN_DIR and the release UI in app/ui/dist
// (scripts/bench app builds both). Prints figures; the last line is one JSON object.
// BENCH_HISTORY_WEEKS / BENCH_CITIZENS_PER_TEAM size the "year" data set (seed-demo flags).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as h from './harness.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TAPS = Number(process.env.BENCH_TAPS ?? 30);
const YEAR_WEEKS = process.env.BENCH_HISTORY_WEEKS ?? '52';
const YEAR_CITIZENS = process.env.BENCH_CITIZENS_PER_TEAM ?? '40';

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const median = (xs) => pct(xs, 50);
const round = (x) => Math.round(x * 10) / 10;

async function api(port, method, p, body) {
  const r = await fetch(`http://127.0.0.1:${port}/api${p}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
  return r.json();
}

// One data set: a seeded server, a signed-in tablet (assistent1) and laptop (terapeut1).
async function measure(name, seedArgs, browser) {
  const tmp = mkdtempSync(path.join(tmpdir(), `homerehab-bench-${name}-`));
  const out = { name };
  const serverPort = await h.freePort();
  const serverDir = path.join(tmp, 'server');
  let t = performance.now();
  execFileSync(h.bin('sync-server'), ['--data-dir', serverDir, 'seed-demo', ...seedArgs], { stdio: 'ignore' });
  out.seed_ms = Math.round(performance.now() - t);
  const server = await h.startServer(serverDir, serverPort);
  const serverUrl = `http://127.0.0.1:${serverPort}`;
  try {
    for (const [who, user, pin] of [['tablet', 'assistent1', '2468'], ['laptop', 'terapeut1', '1357']]) {
      const dir = path.join(tmp, who);
      const port = await h.freePort();
      let app = await h.startApp(dir, serverUrl, port);
      await api(port, 'POST', '/login', { username: user, password: h.PASSWORD });
      t = performance.now();
      await api(port, 'POST', '/sync');
      out[`${who}_first_sync_ms`] = Math.round(performance.now() - t);
      await api(port, 'POST', '/pin', { pin });
      await h.stop(app);

      const core = [], ui = [], home = [];
      for (let run = 0; run < RUNS; run++) {
        const t0 = performance.now();
        app = await h.startApp(dir, serverUrl, port);
        const t1 = performance.now();
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, ...h.DANISH_CLOCK });
        await page.goto(h.appUrl(port));
        await page.getByRole('heading', { name: 'Lås op med pinkode' }).waitFor();
        const t2 = performance.now();
        for (const d of pin) await page.getByTestId(`key-${d}`).click();
        const t3 = performance.now();
        await page.getByTestId('key-ok').click();
        await page.getByTestId(who === 'tablet' ? 'visit' : 'case-row').first().waitFor();
        const t4 = performance.now();
        core.push(t1 - t0);
        ui.push(t2 - t1);
        home.push(t4 - t3);
        if (run === RUNS - 1) {
          if (who === 'tablet') {
            out.visits = await page.getByTestId('visit').count();
            await tapSets(page, out);
            await coreSets(port, out);
          } else {
            out.courses_in_caseload = await page.getByTestId('case-row').count();
            await longestHistory(page, port, out);
          }
        }
        await page.close();
        await h.stop(app);
      }
      const total = core.map((c, i) => c + ui[i] + home[i]);
      out[`${who}_start_to_home_ms_median`] = Math.round(median(total));
      out[`${who}_start_to_home_ms_max`] = Math.round(Math.max(...total));
      out[`${who}_core_ready_ms_median`] = Math.round(median(core));
      out[`${who}_ui_loaded_ms_median`] = Math.round(median(ui));
      out[`${who}_unlock_to_home_ms_median`] = Math.round(median(home));
    }
  } finally {
    await h.stop(server);
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

// Taps "Sæt udført" in a running session; each tap is timed in the page from the click to
// the new count on screen.
async function tapSets(page, out) {
  await page.getByTestId('visit').first().getByTestId('start-session').click();
  await page.getByTestId('set-done').waitFor();
  const ms = [];
  for (let i = 0; i < TAPS; i++) {
    await page.waitForFunction(() => !document.querySelector('[data-testid=set-done]').disabled);
    ms.push(
      await page.evaluate(
        () =>
          new Promise((resolve) => {
            const count = document.querySelector('[data-testid=set-count]');
            const before = count.textContent;
            const t0 = performance.now();
            const seen = new MutationObserver(() => {
              if (count.textContent !== before) {
                seen.disconnect();
                // The frame that shows it.
                requestAnimationFrame(() => resolve(performance.now() - t0));
              }
            });
            seen.observe(count, { childList: true, subtree: true, characterData: true });
            document.querySelector('[data-testid=set-done]').click();
          }),
      ),
    );
    // A new exercise after the prescribed sets keeps the count well under the cap.
    if ((i + 1) % 10 === 0) {
      await page.getByTestId('next').click();
      await page.getByTestId('set-count').filter({ hasText: /^0 af/ }).waitFor();
    }
  }
  out.tap_to_screen_ms_p50 = round(pct(ms, 50));
  out.tap_to_screen_ms_p99 = round(pct(ms, 99));
}

// The app core's time per durable set, straight over its local HTTP API.
async function coreSets(port, out) {
  const visits = await api(port, 'GET', '/visits');
  const course = visits[visits.length - 1].course_id;
  const detail = await api(port, 'GET', `/courses/${course}?lang=da`);
  const { session_id } = await api(port, 'POST', `/courses/${course}/sessions`);
  const ms = [];
  for (const line of detail.lines) {
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      await api(port, 'POST', `/courses/${course}/sessions/${session_id}/sets`, { line_id: line.line_id, reps: 10, duration_s: null, load_kg: null });
      ms.push(performance.now() - t0);
    }
  }
  out.durable_set_http_ms_p50 = round(pct(ms, 50));
  out.durable_set_http_ms_p99 = round(pct(ms, 99));
}

// The course with the most sessions: click in the caseload → its history on screen.
async function longestHistory(page, port, out) {
  const rows = await api(port, 'GET', '/caseload');
  const longest = rows.reduce((a, b) => (b.sessions_done > a.sessions_done ? b : a));
  const t0 = performance.now();
  await page.getByTestId('case-row').filter({ hasText: longest.citizen_name }).first().click();
  await page.getByTestId('trend-chart').waitFor();
  out.history_sessions = await page.getByTestId('history-session').count();
  out.history_open_ms = Math.round(performance.now() - t0);
}

const browser = await h.launchChromium();
const results = [];
try {
  results.push(await measure('demo', [], browser));
  results.push(await measure('year', ['--history-weeks', YEAR_WEEKS, '--citizens-per-team', YEAR_CITIZENS], browser));
} finally {
  await browser.close();
}
const dist = path.join(h.repo, 'app/ui/dist');
const wasm = readdirSync(dist).find((f) => f.endsWith('.wasm'));
const bytes = readFileSync(path.join(dist, wasm));
const size = { wasm_bytes: bytes.length, wasm_gzip_bytes: gzipSync(bytes, { level: 9 }).length };
for (const r of results) {
  console.log(`${r.name}: ${JSON.stringify(r)}`);
}
console.log(`wasm: ${size.wasm_bytes} B, ${size.wasm_gzip_bytes} B gzip`);
console.log(JSON.stringify({ demo: results[0], year: results[1], ...size }));
