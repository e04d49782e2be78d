import { test, expect } from "./fixtures/base";
import { createSession, pickWinner, renderRound } from "./fixtures/api";
import { ReplayPage } from "./fixtures/pages";
import { SessionPage } from "./fixtures/session_page";

async function threeRatedRounds(request: any): Promise<{ id: string; state: any }> {
  const id = await createSession(request, "winner_only", { prompt: "replay harbour" });
  for (const pos of [2, 3, 1]) {
    await renderRound(request, id);
    await pickWinner(request, id, pos);
  }
  const state = await (await request.get(`/api/sessions/${id}`)).json();
  return { id, state };
}

test("replay at an earlier round shows that round's candidates, feedback and trajectory", async ({ page, request }) => {
  test.setTimeout(60_000);
  const { id, state } = await threeRatedRounds(request);
  const replay = new ReplayPage(page);
  await replay.goto(id, 1);
  const round1 = state.rounds.find((r: any) => r.round_index === 1);
  const ids = await replay.candidates.evaluateAll((els) => els.map((e) => e.getAttribute("data-candidate-id")));
  expect(ids).toEqual(round1.candidates.map((c: any) => c.id));
  await expect(replay.feedback).toContainText("winner #2");
  await expect(replay.trajectoryRows).toHaveCount(1);
  // The slider travels: round 2 is the server's projection at round 2.
  await replay.slider.fill("2");
  await expect(page).toHaveURL(/round=2/);
  await expect(replay.section).toHaveAttribute("data-round", "2");
  const round2 = state.rounds.find((r: any) => r.round_index === 2);
  await expect(page.locator("#replay-round")).toHaveAttribute("data-round-id", round2.id);
  await expect(replay.feedback).toContainText("winner #3");
  await expect(replay.trajectoryRows).toHaveCount(2);
  await page.locator("#replay-prev").click();
  await expect(replay.section).toHaveAttribute("data-round", "1");
});

test("fork from an earlier round opens the branch, which continues on its own", async ({ page, request }) => {
  test.setTimeout(60_000);
  const { id } = await threeRatedRounds(request);
  const replay = new ReplayPage(page);
  await replay.goto(id, 2);
  await replay.fork.click();
  await expect(page).toHaveURL(/\/sessions\/[^/]+\/view$/);
  const child = page.url().split("/sessions/")[1].split("/")[0];
  expect(child).not.toBe(id);
  await expect(page.locator("#lineage-parent")).toContainText("round 2");
  const s = new SessionPage(page);
  await s.waitForHydration();
  await s.nextRound.click();
  await s.waitForRound(3);
  await s.winner(1);
  await s.submit.click();
  await s.waitForRound(4);
  // The parent still has its own round 3 and lists the branch.
  const parent = await (await request.get(`/api/sessions/${id}`)).json();
  expect(parent.session.lineage.children.map((c: any) => c.session_id)).toContain(child);
});

test("exports download and parse: JSONL lines and the bundle zip", async ({ page, request }) => {
  const id = await createSession(request, "winner_only");
  await renderRound(request, id);
  await pickWinner(request, id, 1);
  const s = new SessionPage(page);
  await s.goto(id);
  const [jsonl] = await Promise.all([page.waitForEvent("download"), page.locator("#export-jsonl").click()]);
  const text = require("fs").readFileSync(await jsonl.path(), "utf8") as string;
  const lines = text.trim().split("\n").map((l: string) => JSON.parse(l));
  expect(lines.length).toBeGreaterThan(3);
  const [bundle] = await Promise.all([page.waitForEvent("download"), page.locator("#export-bundle").click()]);
  const zip = require("fs").readFileSync(await bundle.path()) as Buffer;
  expect(zip.subarray(0, 2).toString()).toBe("PK");
  expect(zip.includes(Buffer.from("manifest.json"))).toBeTruthy();
  const [csv] = await Promise.all([page.waitForEvent("download"), page.locator("#export-csv").click()]);
  expect(require("fs").readFileSync(await csv.path(), "utf8").split("\n")[0]).toContain(",");
});
