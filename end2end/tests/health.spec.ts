import { test, expect } from "./fixtures/base";

test("diagnostics page is server-rendered with health, engine, store and queue", async ({ browser, baseURL }) => {
  // JavaScript off: what the server sends is already the real state (async SSR).
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL });
  const page = await context.newPage();
  await page.goto("/diagnostics/view");
  await expect(page.locator("#diag-device")).toHaveText(/^(cpu|cuda) \(configured /);
  await expect(page.locator("#diag-events")).toHaveText(/^\d+$/);
  await expect(page.locator("#diag-backend")).toHaveText("burn");
  await expect(page.locator("#diag-model")).toContainText("demo-shapes");
  await expect(page.locator("#diag-store-status")).toHaveText("open");
  await expect(page.locator("#diag-queue")).toContainText("Render concurrency");
  await context.close();
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

test("an unknown session answers 404 with a way back", async ({ page }) => {
  const res = await page.goto("/sessions/0190a0a0-0000-7000-8000-000000000000/view");
  expect(res?.status()).toBe(404);
  await expect(page.locator("#page-error")).toContainText("not found");
});

test("the WASM bundle is served precompressed", async ({ request }) => {
  const br = await request.get("/pkg/stablesteering.wasm", { headers: { "accept-encoding": "br" } });
  expect(br.ok()).toBeTruthy();
  expect(br.headers()["content-encoding"]).toBe("br");
  const gz = await request.get("/pkg/stablesteering.wasm", { headers: { "accept-encoding": "gzip" } });
  expect(gz.headers()["content-encoding"]).toBe("gzip");
  expect(Number(br.headers()["content-length"])).toBeLessThan(Number(gz.headers()["content-length"]));
});
