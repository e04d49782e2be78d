import { test, expect } from "./fixtures/base";
import { createSession, pickWinner, renderRound } from "./fixtures/api";
import { ReplayPage, SetupPage } from "./fixtures/pages";
import { SessionPage } from "./fixtures/session_page";

/** Sets top-level `key: value` lines of the setup page's YAML (appends the keys it lacks). */
function withKeys(yaml: string, keys: Record<string, string>): string {
  let out = yaml;
  for (const [key, value] of Object.entries(keys)) {
    const line = new RegExp(`^${key}:.*$`, "m");
    out = line.test(out) ? out.replace(line, `${key}: ${value}`) : `${out.replace(/\n*$/, "\n")}${key}: ${value}\n`;
  }
  return out;
}

// The default strategy of the setup page is `preference`: its belief is shown, moves with every
// round of feedback, names the image it recommends, and "new seed" renews the shared seed.
test("preference session: the belief panel changes every round, marks the model's pick, new seed", async ({ page, request }) => {
  test.setTimeout(120_000);
  const setup = new SetupPage(page);
  await setup.goto();
  await expect(setup.yaml).toHaveValue(/^strategy: preference$/m);
  await setup.prompt.fill("a lighthouse on a cliff at dusk");
  const yaml = await setup.yaml.inputValue();
  await setup.yaml.fill(
    withKeys(yaml, {
      feedback_mode: "winner_only",
      candidate_count: "4",
      num_inference_steps: "2",
      image_size: "64x64",
    }),
  );
  await setup.calibrate.uncheck();
  await setup.create.click();
  await expect(page).toHaveURL(/\/sessions\/[^/]+\/view$/);
  const id = page.url().split("/sessions/")[1].split("/")[0];
  const s = new SessionPage(page);
  await s.waitForHydration();
  await s.waitForRound(1);

  // Before any feedback: the prior, no pick yet.
  await expect(s.belief).toBeVisible();
  await expect(s.belief).toHaveAttribute("data-rounds-used", "0");
  const axes = await s.beliefAxes.count();
  expect(axes).toBeGreaterThan(0);
  await expect(s.beliefAxes.first().locator(".axis-value")).toHaveText(/^[+-]\d+\.\d\d ± \d+\.\d\d$/);
  await expect(s.beliefAxes.first().locator("svg[role=img]")).toHaveAttribute("aria-label", /±/);
  await expect(s.recommended).toHaveCount(0);
  let previous = await s.beliefEstimates();

  for (const [round, winner] of [[1, 2], [2, 3], [3, 4]]) {
    await s.winner(winner);
    await s.submit.click();
    await s.waitForRound(round + 1);
    await expect(s.belief).toHaveAttribute("data-rounds-used", String(round));
    await expect(s.beliefRounds).toContainText(`${round} round`);
    await expect(s.beliefAxes).toHaveCount(axes);
    const now = await s.beliefEstimates();
    expect(now, `belief after round ${round}`).not.toEqual(previous);
    previous = now;
    // The image the model believes best is pinned first in the next round and marked.
    await expect(s.recommended).toHaveCount(1);
    await expect(s.card(1).locator(".badge.recommended")).toBeVisible();
    await expect(s.card(1)).toHaveAttribute("data-role", "incumbent");
    const state = await (await request.get(`/api/sessions/${id}`)).json();
    expect(state.belief.rounds_used).toBe(round);
    expect(state.belief.recommended_candidate_id).toBeTruthy();
    await expect(s.beliefDriver).toHaveAttribute("class", state.belief.driver === "es" ? /notice/ : /^driver$/);
  }

  // "New seed": counted, and the button is back once the page re-read the session.
  await expect(s.seedRenewals).toHaveAttribute("data-count", "0");
  await s.newSeed.click();
  await expect(s.seedRenewals).toHaveAttribute("data-count", "1");
  await expect(s.seedRenewals).toContainText("renewed once");
  await expect(s.actionError).toHaveCount(0);
  const after = await (await request.get(`/api/sessions/${id}`)).json();
  expect(after.belief.seed_renewals).toBe(1);
});

test("replay shows the belief after round r and how each axis moved up to r", async ({ page, request }) => {
  test.setTimeout(60_000);
  const id = await createSession(request, "winner_only", { prompt: "replay belief harbour" });
  for (const pos of [2, 3, 1]) {
    await renderRound(request, id);
    await pickWinner(request, id, pos);
  }
  const replay = new ReplayPage(page);
  await replay.goto(id, 2);
  await expect(page.locator("#belief-panel")).toHaveAttribute("data-rounds-used", "2");
  await expect(page.locator("#belief-title")).toHaveText("What the model believed after round 2");
  // The prior plus rounds 1 and 2, never round 3.
  await expect(page.locator("#belief-table tbody tr")).toHaveCount(3);
  await expect(page.locator("#belief-plot polyline").first()).toBeVisible();
  const at2 = await (await request.get(`/api/sessions/${id}/rounds/2`)).json();
  const first = at2.belief.axes[0];
  const shown = await page.locator("#belief-panel li.belief-axis").first().locator(".axis-value").innerText();
  const [mean, sd] = shown.split(" ± ").map(Number);
  expect(Math.abs(mean - first.mean), shown).toBeLessThan(0.006);
  expect(Math.abs(sd - first.sd), shown).toBeLessThan(0.006);
  await replay.slider.fill("3");
  await expect(page).toHaveURL(/round=3/);
  await expect(page.locator("#belief-table tbody tr")).toHaveCount(4);
});

test("classic sessions show no belief and no new-seed button", async ({ page, request }) => {
  const res = await request.post("/setup/session", {
    data: {
      prompt: "classic lighthouse",
      config_yaml: "strategy: classic\nfeedback_mode: winner_only\nimage_size: 64x64\nnum_inference_steps: 2\ncandidate_count: 4\nsteering_dimension: 4\n",
    },
  });
  expect(res.ok(), await res.text()).toBeTruthy();
  const id = (await res.json()).session.id;
  await renderRound(request, id);
  const s = new SessionPage(page);
  await s.goto(id);
  await s.waitForRound(1);
  await expect(s.belief).toHaveCount(0);
  await expect(s.newSeed).toHaveCount(0);
  expect((await (await request.get(`/api/sessions/${id}`)).json()).belief).toBeNull();
});
