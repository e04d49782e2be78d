import { test, expect } from "./fixtures/base";
import { createSession } from "./fixtures/api";
import { SessionPage } from "./fixtures/session_page";

// One test per feedback mode: first round → feedback with the mode's controls → the next round
// starts by itself (auto-advance) → the rated round is in the history with its winner.
const modes: Array<[string, (s: SessionPage) => Promise<void>]> = [
  ["scalar_rating", async (s) => { await s.stars(1, 2); await s.stars(3, 5); }],
  ["pairwise", async (s) => { await s.winner(2); await s.loser(4); }],
  ["winner_only", async (s) => { await s.winner(3); }],
  ["approve_reject", async (s) => { await s.approve(1); await s.approve(2); await s.preferred(2); }],
  ["top_k", async (s) => { await s.rank(3, 1); await s.rank(1, 2); }],
  ["critique_rating", async (s) => { await s.stars(2, 4); await s.tag(2, "good_color"); await s.tag(1, "too_dark"); await s.stars(1, 1); }],
];

for (const [mode, rate] of modes) {
  test(`${mode}: first round, feedback, next round`, async ({ page, request }) => {
    const id = await createSession(request, mode);
    const s = new SessionPage(page);
    await s.goto(id);
    await expect(page.locator("#session-mode")).toHaveAttribute("data-mode", mode);
    await s.nextRound.click();
    await s.waitForRound(1);
    await expect(s.cards).toHaveCount(4);
    // Round 1 pins the unsteered baseline, marked as such.
    await expect(page.locator("#feedback-form .badge.baseline")).toHaveCount(1);
    await rate(s);
    await s.submit.click();
    await s.waitForRound(2);
    await expect(s.history).toHaveCount(1);
    await expect(s.history.first().locator("figure.winner")).toHaveCount(1);
    const state = await (await request.get(`/api/sessions/${id}`)).json();
    expect(state.rounds[0].feedback_events[0].type).toBe(mode);
    // Round 2 pins an incumbent, marked: round 1's winner under `classic`, the model's pick
    // under `preference` (the default), which also carries the "model's pick" badge.
    await expect(page.locator("#feedback-form .badge.incumbent")).toHaveCount(1);
    await expect(page.locator("#feedback-form .badge.recommended")).toHaveCount(1);
  });
}
