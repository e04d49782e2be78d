import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { request as apiRequest } from "@playwright/test";
import { test, expect, hydrated } from "./fixtures/base";
import { tinyYaml } from "./fixtures/api";
import { Dashboard } from "./fixtures/pages";
import { SessionPage } from "./fixtures/session_page";

// Issue 15: `serve --auth token` in the real browser. A second server of the same binary runs
// with authentication; a person logs in on /login with their token, the hydrated app then works
// through the HttpOnly cookie (reads, SSE progress, a rendered round), and another user's
// session is never shown.

const root = path.resolve(__dirname, "../..");
const bin = path.join(root, "target/release/stablesteering");

async function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => done(port));
    });
  });
}

function token(dataDir: string, user: string): string {
  const args = ["token", "add", "--data-dir", dataDir, "--user", user];
  return execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
}

let server: ChildProcess;
let base: string;
let dir: string;
let ada: string;
let bob: string;

test.beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "stablesteering-auth-"));
  const data = path.join(dir, "data");
  ada = token(data, "ada");
  bob = token(data, "bob");
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ["serve", "--addr", `127.0.0.1:${port}`, "--data-dir", data, "--auth", "token",
    "--device", "cpu", "--site-root", path.join(root, "target/site")], { stdio: "ignore" });
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${base}/api/health`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the --auth token server did not start");
});

test.afterAll(async () => {
  server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function sessionOf(secret: string, prompt: string): Promise<string> {
  const api = await apiRequest.newContext({ baseURL: base, extraHTTPHeaders: { authorization: `Bearer ${secret}` } });
  const res = await api.post("/setup/session", { data: { prompt, config_yaml: tinyYaml("winner_only") } });
  expect(res.ok(), await res.text()).toBeTruthy();
  const id = (await res.json()).session.id as string;
  await api.dispose();
  return id;
}

test("log in with a token, use the app through the cookie, see only your own sessions", async ({ page }) => {
  const mine = await sessionOf(ada, "ada's red circle");
  const theirs = await sessionOf(bob, "bob's blue square");

  await page.goto(`${base}/sessions/${mine}/view`);
  await expect(page).toHaveURL(new RegExp(`/login\\?next=/sessions/${mine}/view$`));
  await page.locator("#token").fill("sst_not-a-token");
  await page.locator('form[action="/login"] button[type="submit"]').click();
  await expect(page.locator(".error")).toContainText("not valid");
  await page.locator("#token").fill(ada);
  await page.locator('form[action="/login"] button[type="submit"]').click();
  await expect(page).toHaveURL(`${base}/sessions/${mine}/view`);

  // The hydrated app renders a round through the cookie (API calls and the SSE stream).
  const s = new SessionPage(page);
  await s.waitForHydration();
  await s.nextRound.click();
  await s.waitForRound(1);

  const home = new Dashboard(page);
  await page.goto(`${base}/`);
  await hydrated(page);
  await expect(home.row(mine)).toHaveCount(1);
  await expect(home.row(theirs)).toHaveCount(0);
  const other = await page.request.get(`${base}/api/sessions/${theirs}`);
  expect(other.status()).toBe(404);
});
