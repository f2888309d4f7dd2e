/**
 * Real browser against the chat demo: headless Chromium (Debian's package,
 * driven by playwright-core) opens examples/chat in two pages. A message typed
 * in one appears in the other, the transport upgrades from polling to
 * websocket, and a binary attachment makes the round trip through the server.
 * A screenshot goes to test/e2e/artifacts/chat.png for a person to look at.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync, crc32 } from "node:zlib";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startExample, type RunningExample } from "../frameworks/example-process.js";
import { Teardown, request } from "../frameworks/harness.js";

const CHROMIUM = "/usr/bin/chromium";
const IN_CI = process.env.CI === "true";
const browserMissing = !existsSync(CHROMIUM);
if (browserMissing) {
  console.warn(
    `\n*** ${IN_CI ? "FAILING (CI=true)" : "SKIPPING"} test/e2e: no browser at ${CHROMIUM}. ` +
      "Install Debian's chromium package (apt-get install chromium) to run the real-browser tests. ***\n",
  );
}

const artifacts = new URL("./artifacts/", import.meta.url);

/** A small real PNG (horizontal gradient), built here so its bytes are known. */
function gradientPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      rows.set([40 + ((x * 180) / width) | 0, 70 + y, 229 - ((x * 100) / width) | 0], row + 1 + x * 3);
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** expect.poll with room for a loaded CI machine. */
function poll<T>(read: () => T | Promise<T>) {
  return expect.poll(read, { timeout: 5000, interval: 50 });
}

/** Bytes behind the newest attachment image in a page. */
function lastImageBytes(page: Page): Promise<number[]> {
  return page.evaluate(async () => {
    const images = document.querySelectorAll<HTMLImageElement>("#messages li.file img");
    const img = images[images.length - 1];
    return Array.from(new Uint8Array(await (await fetch(img.src)).arrayBuffer()));
  });
}

// With CI=true a missing browser is a failure, never a skip.
it.runIf(browserMissing && IN_CI)(`finds Chromium at ${CHROMIUM} (required when CI=true)`, () => {
  throw new Error(`CI=true but no browser at ${CHROMIUM}: .ci/run must install Debian's chromium package`);
});

describe.skipIf(browserMissing)("chat demo in headless Chromium", () => {
  const teardown = new Teardown();
  let app: RunningExample;
  let context: BrowserContext;
  let ada: Page;
  let bob: Page;

  beforeAll(async () => {
    app = await startExample("chat", teardown);
    const profile = await mkdtemp(join(tmpdir(), "tidewire-e2e-"));
    teardown.add(() => rm(profile, { recursive: true, force: true }));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1100, height: 720 },
    });
    teardown.add(() => context.close());
    ada = await context.newPage();
    bob = await context.newPage();
  }, 20000);

  afterAll(() => teardown.run(), 10000);

  async function joinAs(page: Page, nick: string, room: string, screenshot?: string) {
    // Pages behind the front tab get no animation frames, which Playwright's
    // click waits for.
    await page.bringToFront();
    await page.goto(app.url);
    await page.fill("#nick", nick);
    await page.click(`#room-choices button:has-text("# ${room}")`);
    if (screenshot) {
      await mkdir(artifacts, { recursive: true });
      await page.screenshot({ path: new URL(screenshot, artifacts).pathname });
    }
    await page.click("#join-button");
    await page.waitForSelector("#chat:not([hidden])");
    await poll(() => page.textContent("#room-title")).toBe(`# ${room}`);
    // Volatile typing notices are dropped while a transport is busy
    // switching; start the conversation once the upgrade is done.
    await page.waitForFunction(() => (window as any).socket.io.engine.transport.name === "websocket", null, {
      timeout: 5000,
    });
  }

  /**
   * Typing notices are volatile (a busy transport may drop one) and the page
   * re-sends them at most every 2 s while typing goes on: keep typing until
   * the other page shows the indicator.
   */
  async function typeUntilSeen(typist: Page, watcher: Page, text: string, indicator: string) {
    for (let attempt = 0; ; attempt++) {
      await typist.fill("#text", `${text}${".".repeat(attempt)}`);
      try {
        await expect.poll(() => watcher.textContent("#typing"), { timeout: 2500, interval: 50 }).toBe(indicator);
        return;
      } catch (err) {
        if (attempt === 2) throw err;
      }
    }
  }

  it("serves the page and the client bundle it loads", async () => {
    const page = await request(`${app.url}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script src="/socket.io/socket.io.js"></script>');
    const bundle = await request(`${app.url}/socket.io/socket.io.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.body).toContain("engine.io");
  });

  it("two people join a room, see each other, typing and messages", async () => {
    await joinAs(ada, "Ada", "general", "join.png");
    await joinAs(bob, "Bob", "general");

    await poll(() => ada.locator("#users li .name").allTextContents()).toEqual(["Ada", "Bob"]);
    await poll(() => bob.locator("#users li .name").allTextContents()).toEqual(["Ada", "Bob"]);

    await typeUntilSeen(ada, bob, "Hello Bob, tidewire speaks", "Ada is typing…");
    await ada.fill("#text", "Hello Bob, tidewire speaks socket.io!");
    await ada.press("#text", "Enter");

    const received = bob.locator("#messages li.message:not(.mine) .text");
    await poll(() => received.allTextContents()).toEqual(["Hello Bob, tidewire speaks socket.io!"]);
    // The sender's copy is confirmed by the server's ack (it carries an id).
    await poll(() => ada.locator("#messages li.mine").first().getAttribute("data-id")).toMatch(/^\d+$/);
    await poll(() => bob.textContent("#typing")).toBe("");

    await bob.fill("#text", "Hi Ada! Both tabs are live.");
    await bob.press("#text", "Enter");
    await poll(() => ada.locator("#messages li.message:not(.mine) .text").allTextContents())
      .toEqual(["Hi Ada! Both tabs are live."]);
  });

  it("starts on polling and upgrades to websocket", async () => {
    await ada.waitForFunction(() => (window as any).socket.io.engine.transport.name === "websocket", null, {
      timeout: 5000,
    });
    const pollingRequests = await ada.evaluate(
      () =>
        performance
          .getEntriesByType("resource")
          .filter((entry) => entry.name.includes("/socket.io/") && entry.name.includes("transport=polling")).length,
    );
    expect(pollingRequests).toBeGreaterThan(0);
    await poll(() => ada.textContent("#status-text")).toBe("connected · websocket");
  });

  it("round-trips a binary attachment through the server to both pages", async () => {
    const png = gradientPng(96, 48);
    await ada.setInputFiles("#file", { name: "gradient.png", mimeType: "image/png", buffer: png });

    for (const page of [ada, bob]) {
      await page.waitForSelector(`#messages li.file[data-size="${png.length}"] img`);
      expect(Buffer.from(await lastImageBytes(page))).toEqual(png);
      // The browser decoded it: it really is the picture that was sent.
      await poll(() => page.evaluate(() => document.querySelector<HTMLImageElement>("#messages li.file img")!.naturalWidth))
        .toBe(96);
    }

    // A generated doodle from the other side, received as an image too.
    await bob.bringToFront();
    await bob.click("#doodle");
    await poll(() => ada.locator("#messages li.file img").count()).toBe(2);
  });

  it("leaves a screenshot of the chat for a person to look at", async () => {
    await ada.fill("#text", "Looks good?");
    await ada.press("#text", "Enter");
    await typeUntilSeen(bob, ada, "Typing a reply", "Bob is typing…");
    await ada.bringToFront();
    await ada.waitForFunction(() =>
      Array.from(document.querySelectorAll<HTMLImageElement>("#messages img")).every((img) => img.complete),
    );
    await mkdir(artifacts, { recursive: true });
    const file = new URL("chat.png", artifacts);
    await ada.screenshot({ path: file.pathname });
    expect(existsSync(file)).toBe(true);
  });
});
