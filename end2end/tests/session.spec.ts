import { test, expect, hydrated } from "./fixtures/base";
import { createSession, renderRound } from "./fixtures/api";
import { SessionPage } from "./fixtures/session_page";
import { CalibrationPage, Dashboard, SetupPage } from "./fixtures/pages";

test("setup: a bad YAML is refused with its key and line next to the editor", async ({ page }) => {
  const setup = new SetupPage(page);
  await setup.goto();
  await expect(setup.yaml).toHaveValue(/feedback_mode/);
  await setup.yaml.fill("feedback_mode: winner_only\ncandidate_cuont: 4\n");
  await setup.create.click();
  await expect(setup.configError).toBeVisible();
  await expect(setup.configError).toHaveAttribute("data-line", "2");
  await expect(setup.configError).toContainText("candidate_count");
  await expect(setup.yaml).toHaveAttribute("aria-invalid", "true");
  await setup.reload.click();
  await expect(setup.yaml).toHaveValue(/candidate_count/);
  await expect(page).toHaveURL(/\/setup$/);
});

test("setup → calibration: 15 probes with progress, choose 5, first round", async ({ page }) => {
  const setup = new SetupPage(page);
  await setup.goto();
  await setup.prompt.fill("a red kite over a harbour");
  await page.locator('.tags .tag[data-tag="moody"]').click();
  await setup.yaml.fill("feedback_mode: winner_only\nimage_size: 64x64\nnum_inference_steps: 2\ncandidate_count: 4\nsteering_dimension: 4\n");
  await expect(setup.calibrate).toBeChecked();
  await setup.create.click();
  await expect(page).toHaveURL(/\/style-calibration$/);
  const cal = new CalibrationPage(page);
  await hydrated(page);
  await cal.generate.click();
  await expect(cal.probes).toHaveCount(15, { timeout: 60_000 });
  await expect(cal.confirm).toBeDisabled();
  for (const i of [0, 2, 4, 6, 8]) await cal.probes.nth(i).locator(".probe-toggle").click();
  await expect(cal.chosen).toHaveText("5 of 5 chosen");
  await cal.confirm.click();
  await expect(page).toHaveURL(/\/view$/);
  const s = new SessionPage(page);
  await s.waitForRound(1);
  await expect(page.locator("#session-prompt")).toHaveText("a red kite over a harbour, moody");
});

test("calibration can be skipped", async ({ page, request }) => {
  const id = await createSession(request, "winner_only");
  await page.goto(`/sessions/${id}/style-calibration`);
  await hydrated(page);
  await new CalibrationPage(page).skip.click();
  await expect(page).toHaveURL(new RegExp(`/sessions/${id}/view$`));
  await new SessionPage(page).waitForRound(1);
});

test("progress advances live during a render (SSE, no polling)", async ({ page, request }) => {
  test.setTimeout(90_000);
  const id = await createSession(request, "winner_only", { steps: 10 });
  const s = new SessionPage(page);
  const polled: string[] = [];
  page.on("request", (r) => {
    if (/^\/(api\/)?jobs\/[^/]+$/.test(new URL(r.url()).pathname)) polled.push(r.url());
  });
  await s.goto(id);
  await page.evaluate(() => {
    (window as any).__seen = [];
    new MutationObserver(() => {
      const el = document.querySelector("#job-progress");
      if (!el) return;
      const previews = document.querySelectorAll('#job-progress .preview-slot[data-filled="true"]').length;
      (window as any).__seen.push(`${el.getAttribute("data-state")}:${el.getAttribute("data-step")}:${previews}`);
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
  await s.nextRound.click();
  await s.waitForRound(1);
  const seen: string[] = await page.evaluate(() => (window as any).__seen);
  const steps = new Set(seen.filter((x) => x.startsWith("running:")).map((x) => x.split(":")[1]));
  expect(steps.size, `progress seen: ${seen.join(" ")}`).toBeGreaterThan(2);
  expect(seen.some((x) => Number(x.split(":")[2]) > 0), `previews: ${seen.join(" ")}`).toBeTruthy();
  expect(polled, "job status must not be polled").toEqual([]);
});

test("a reload in the middle of a job shows its progress at once and resumes", async ({ page, request }) => {
  test.setTimeout(90_000);
  const id = await createSession(request, "winner_only", { steps: 12 });
  const queued = await request.post(`/sessions/${id}/rounds/next/async`);
  expect(queued.status()).toBe(202);
  const s = new SessionPage(page);
  await s.goto(id);
  await expect(s.progress).toBeVisible();
  await expect(s.progress).toHaveAttribute("data-state", "running");
  // Reload mid-job: the server-rendered page already shows the job, before any script runs.
  const response = await page.reload();
  const html = await response!.text();
  expect(html).toContain('id="job-progress"');
  await s.waitForHydration();
  await s.waitForRound(1);
  await s.winner(1);
  await s.submit.click();
  await s.waitForRound(2);
});

test("cancel a running render, then retry it", async ({ page, request }) => {
  test.setTimeout(90_000);
  const id = await createSession(request, "winner_only", { steps: 25 });
  const s = new SessionPage(page);
  await s.goto(id);
  await s.nextRound.click();
  await expect(s.progress).toHaveAttribute("data-state", "running");
  await page.locator("#job-cancel").click();
  await expect(page.locator("#round-failed")).toBeVisible({ timeout: 30_000 });
  const jobs = await (await request.get(`/api/jobs?session_id=${id}`)).json();
  expect(jobs[0].state).toBe("cancelled");
  await page.locator("#retry-round").click();
  await s.waitForRound(1);
});

test("invalid feedback: refused in the browser, and the server's refusal shown inline", async ({ page, request }) => {
  const id = await createSession(request, "pairwise");
  await renderRound(request, id);
  const s = new SessionPage(page);
  await s.goto(id);
  await s.waitForRound(1);
  await s.winner(1);
  await s.submit.click();
  await expect(s.feedbackError).toHaveAttribute("data-source", "client");
  await expect(s.feedbackError).toHaveAttribute("data-field", "payload.loser_candidate_id");
  // Feedback given elsewhere meanwhile: the server refuses this stale round.
  const state = await (await request.get(`/api/sessions/${id}`)).json();
  const round = state.rounds[0];
  const ids = round.candidates.map((c: any) => c.id);
  const elsewhere = await request.post(`/rounds/${round.id}/feedback`, {
    data: { feedback_type: "pairwise", payload: { winner_candidate_id: ids[2], loser_candidate_id: ids[3] } },
  });
  expect(elsewhere.ok()).toBeTruthy();
  await s.loser(2);
  await s.submit.click();
  await expect(s.feedbackError).toHaveAttribute("data-source", "server");
  await expect(s.feedbackError).not.toBeEmpty();
});

test("dashboard: demo notice, resume with thumbnail, delete with confirmation", async ({ page, request }) => {
  const id = await createSession(request, "winner_only", { prompt: "dashboard delete me" });
  await renderRound(request, id);
  const dash = new Dashboard(page);
  await dash.goto();
  await expect(dash.notice).toBeVisible();
  const row = dash.row(id);
  await expect(row).toContainText("dashboard delete me");
  await expect(row.locator(".thumb img")).toBeVisible();
  await row.locator(".delete").click();
  await row.locator(".cancel-delete").click();
  await expect(row).toBeVisible();
  await row.locator(".delete").click();
  await row.locator(".confirm-delete").click();
  await expect(dash.row(id)).toHaveCount(0);
  expect((await request.get(`/sessions/${id}`)).status()).toBe(404);
});

test("keyboard only: five rounds without the mouse", async ({ page, request }) => {
  test.setTimeout(120_000);
  const id = await createSession(request, "scalar_rating");
  const s = new SessionPage(page);
  await s.goto(id);
  // Tab to the start button.
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate(() => document.activeElement?.id === "next-round")) break;
  }
  await page.keyboard.press("Enter");
  for (let round = 1; round <= 5; round++) {
    await s.waitForRound(round);
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press("3");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("5");
    await expect(s.card(3)).toHaveClass(/focused/);
    await page.keyboard.press("Enter");
  }
  await s.waitForRound(6);
  await expect(s.history).toHaveCount(5);
  const state = await (await request.get(`/api/sessions/${id}`)).json();
  const winners = state.rounds.filter((r: any) => r.feedback_events.length).length;
  expect(winners).toBe(5);
  expect(state.rounds[0].feedback_events[0].payload.ratings).toBeTruthy();
  // The browser's side is in the session's trace report.
  const report = await (await request.get(`/sessions/${id}/trace-report`)).text();
  expect(report).toContain("feedback.submit.completed");
});
