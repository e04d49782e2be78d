import { test, expect } from "./fixtures/base";
import { HomePage } from "./fixtures/home_page";

test("SSR page hydrates and shows the health panel", async ({ page }) => {
  const home = new HomePage(page);
  await home.goto();
  // Before hydration the server-rendered placeholder is there, not the panel.
  await expect(page.locator("h1")).toHaveText("StableSteering");
  await home.waitForHydration();
  await expect(home.healthPanel).toBeVisible();
  await expect(home.healthStatus).toHaveText("ok");
  await expect(home.healthDevice).toHaveText(/^(cpu|cuda)$/);
  await expect(home.healthStore).toContainText("events");
  await expect(home.healthDataDir).not.toBeEmpty();
});

test("health API answers the same JSON the panel shows", async ({ request }) => {
  const res = await request.get("/api/health");
  expect(res.ok()).toBeTruthy();
  const body = await res.json();
  expect(body.status).toBe("ok");
  expect(typeof body.version).toBe("string");
  expect(body.store.status).toBe("open");
  expect(typeof body.store.event_count).toBe("number");
  expect(["cpu", "cuda"]).toContain(body.engine.device);
});

test("unknown pages answer 404 with a way back", async ({ page }) => {
  const res = await page.goto("/no-such-page");
  expect(res?.status()).toBe(404);
  await expect(page.getByRole("link", { name: "Back to the dashboard" })).toBeVisible();
});
