import http from "node:http";
import type { AddressInfo } from "node:net";
import { chromium, type APIRequestContext } from "@playwright/test";
import { test, expect } from "./fixtures/base";

// Issue 15: a page the user happens to visit must not be able to drive the server. The attacks
// run in the real browser: a page on another loopback port (another origin, same site) posts
// with the request kinds a browser sends without a CORS preflight, and a page under a host name
// that resolves to this machine (DNS rebinding) tries to read the export.

function attackerPage(target: string): string {
  return `<!doctype html><html><body>
<form id="form" method="POST" action="${target}/setup/session" enctype="text/plain" target="sink">
  <input name='{"prompt":"form attack","pad":"' value='"}'>
</form>
<iframe name="sink"></iframe>
<script>
window.attempts = (async () => {
  const body = JSON.stringify({ prompt: "fetch attack", width: 64, height: 64, steps: 2 });
  const sent = [];
  for (const [path, type] of [["/sdapi/v1/txt2img", "text/plain"], ["/setup/session", "text/plain"],
                              ["/sdapi/v1/options", null], ["/frontend-events", "text/plain"]]) {
    const init = { method: "POST", mode: "no-cors", body };
    if (type) init.headers = { "Content-Type": type };
    try { await fetch("${target}" + path, init); sent.push(path); } catch (e) { sent.push(path + " " + e); }
  }
  document.getElementById("form").submit();
  return sent;
})();
</script></body></html>`;
}

async function counts(request: APIRequestContext) {
  const list = async (path: string) => {
    const body = await (await request.get(path)).json();
    return (Array.isArray(body) ? body : body.sessions ?? body.jobs ?? []).length as number;
  };
  return { sessions: await list("/api/sessions"), jobs: await list("/api/jobs") };
}

test("a page on another port cannot post to the server", async ({ page, request, baseURL }) => {
  const target = new URL(baseURL!).origin;
  const attacker = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(attackerPage(target));
  });
  await new Promise<void>((done) => attacker.listen(0, "127.0.0.1", done));
  const attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`;
  try {
    const before = await counts(request);
    const statuses: number[] = [];
    page.on("response", (res) => {
      if (res.url().startsWith(target) && res.request().method() === "POST") statuses.push(res.status());
    });
    const formPosted = page.waitForResponse((res) => res.url() === `${target}/setup/session` &&
      res.request().resourceType() === "document");
    await page.goto(attackerUrl);
    const sent = await page.evaluate(() => (window as unknown as { attempts: Promise<string[]> }).attempts);
    expect(sent).toHaveLength(4);
    expect((await formPosted).status()).toBe(403);
    await expect.poll(() => statuses.length).toBeGreaterThanOrEqual(5);
    // Every attempt was refused as cross-origin, before it touched anything.
    expect(statuses.every((s) => s === 403), JSON.stringify(statuses)).toBeTruthy();
    expect(await counts(request)).toEqual(before);

    // The server's own page still can.
    await page.goto("/");
    const own = await page.evaluate(async () => {
      const res = await fetch("/setup/session", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ prompt: "own page", config_yaml: "image_size: 64x64\nnum_inference_steps: 2\n" }),
      });
      return res.status;
    });
    expect(own).toBeLessThan(300);
    expect((await counts(request)).sessions).toBe(before.sessions + 1);
  } finally {
    attacker.close();
  }
});

test("a rebound host name reads nothing", async ({ baseURL }) => {
  const port = new URL(baseURL!).port;
  // Chromium resolves rebind.test to this machine, as an attacker's DNS would after rebinding.
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-features=HttpsUpgrades",
      "--host-resolver-rules=MAP rebind.test 127.0.0.1"],
  });
  try {
    const page = await browser.newPage();
    for (const path of ["/api/export", "/api/sessions", "/"]) {
      const res = await page.goto(`http://rebind.test:${port}${path}`);
      expect(res?.status(), path).toBe(421);
      const body = await res!.json();
      expect(body.error_code).toBe("misdirected_request");
      expect(body.field).toBe("Host");
    }
  } finally {
    await browser.close();
  }
});
