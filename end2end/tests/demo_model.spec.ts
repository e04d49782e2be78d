import { test, expect } from "./fixtures/base";
import { SetupPage } from "./fixtures/pages";
import { SessionPage } from "./fixtures/session_page";

/** Fractions of an image's pixels that are "blue" and "red" (read from a canvas in the browser). */
async function colourShares(page: import("@playwright/test").Page, img: import("@playwright/test").Locator) {
  await expect(img).toHaveJSProperty("complete", true);
  return img.evaluate((el: HTMLImageElement) => {
    const canvas = document.createElement("canvas");
    canvas.width = el.naturalWidth;
    canvas.height = el.naturalHeight;
    const ctx = canvas.getContext("2d")!;
    ctx.drawImage(el, 0, 0);
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let blue = 0;
    let red = 0;
    const n = data.length / 4;
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
      if (b > 140 && r < 110 && g < 140) blue++;
      if (r > 150 && g < 90 && b < 90) red++;
    }
    return { blue: blue / n, red: red / n, width: canvas.width };
  });
}

// The bundled demo model draws what the prompt says: the plain-prompt image of round 1 is mostly
// blue with a red blob.
test("the demo model draws a red circle on a blue background", async ({ page }) => {
  test.setTimeout(120_000);
  const setup = new SetupPage(page);
  await setup.goto();
  await setup.prompt.fill("a red circle on a blue background");
  await setup.calibrate.uncheck();
  await setup.create.click();
  await expect(page).toHaveURL(/\/sessions\/[^/]+\/view$/);
  const s = new SessionPage(page);
  await s.waitForHydration();
  await s.waitForRound(1);
  const shares = [];
  for (const card of await s.cards.all()) {
    shares.push(await colourShares(page, card.locator("img")));
  }
  // Every candidate keeps the prompt's scene; the steered ones may shift it a little.
  const best = shares.reduce((a, b) => (a.blue + a.red >= b.blue + b.red ? a : b));
  expect(best.width).toBe(64);
  expect(best.blue, JSON.stringify(shares)).toBeGreaterThan(0.5);
  expect(best.red, JSON.stringify(shares)).toBeGreaterThan(0.03);
  expect(best.red, JSON.stringify(shares)).toBeLessThan(0.45);
  // `README_SCREENSHOT=../docs/img/session.png scripts/e2e.sh demo_model` refreshes the README's picture.
  if (process.env.README_SCREENSHOT) {
    await page.setViewportSize({ width: 1100, height: 760 });
    await page.screenshot({ path: process.env.README_SCREENSHOT });
  }
});
