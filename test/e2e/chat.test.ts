/**
 * Real browser against the chat demo: headless Chromium (Debian's package,
 * driven by playwright-core) opens examples/chat in two desktop pages and a
 * phone-sized one, each through its own TCP relay (flaky-link.ts) so that the
 * network can fail under it. What a user sees is checked step by step:
 * messages, typing and pictures both ways; the upgrade from polling to
 * websocket and the round-trip time in the status line; a network drop that
 * loses nothing (connection state recovery); a server restart after which
 * the room history comes back and a message typed meanwhile is sent once; a
 * server that does not answer (message marked failed, Retry); a late joiner
 * on a 390x844 screen who sees earlier pictures and opens the rooms and
 * people drawer. Screenshots of each step go to test/e2e/artifacts/.
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
import { FlakyLink } from "./flaky-link.js";

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

/** expect.poll with room for a loaded CI machine (reconnections back off for seconds). */
function poll<T>(read: () => T | Promise<T>, timeout = 5000) {
  return expect.poll(read, { timeout, interval: 50 });
}

async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(artifacts, { recursive: true });
  // Transitions (the phone drawer slides in) are shown at their end.
  await page.screenshot({ path: new URL(name, artifacts).pathname, animations: "disabled" });
}

/** Texts of the chat bubbles a page shows (its own and the others'). */
function texts(page: Page): Promise<string[]> {
  return page.locator("#messages li.message .text").allTextContents();
}

function systemLines(page: Page): Promise<string[]> {
  return page.locator("#messages li.system").allTextContents();
}

function imagesLoaded(page: Page): Promise<unknown> {
  return page.waitForFunction(() =>
    Array.from(document.querySelectorAll<HTMLImageElement>("#messages img")).every((img) => img.complete && img.naturalWidth > 0),
  );
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
  let historyFile: string;
  let context: BrowserContext;
  let ada: Page;
  let bob: Page;
  const links: Record<"ada" | "bob" | "cyd", FlakyLink> = {} as any;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), "tidewire-e2e-"));
    teardown.add(() => rm(dir, { recursive: true, force: true }));
    historyFile = join(dir, "history.json");
    app = await startExample("chat", teardown, { env: { CHAT_HISTORY_FILE: historyFile } });
    // Each page reaches the server through a link of its own.
    for (const who of ["ada", "bob", "cyd"] as const) {
      links[who] = await new FlakyLink(app.port).listen();
      teardown.add(() => links[who].close());
    }
    const profile = join(dir, "profile");
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
    // Registered last: runs first, before the server and the links go.
    teardown.add(() => context.close());
    ada = await context.newPage();
    bob = await context.newPage();
  }, 20000);

  afterAll(() => teardown.run(), 15000);

  async function joinAs(page: Page, url: string, nick: string, room: string, shot?: string) {
    // Pages behind the front tab get no animation frames, which Playwright's
    // click waits for.
    await page.bringToFront();
    await page.goto(url);
    await page.fill("#nick", nick);
    await page.click(`#room-choices button:has-text("# ${room}")`);
    if (shot) await screenshot(page, shot);
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

  async function send(page: Page, text: string) {
    await page.bringToFront();
    await page.fill("#text", text);
    await page.press("#text", "Enter");
  }

  /** The page's own message with this text has been confirmed by the server (it carries an id). */
  function confirmed(page: Page, text: string) {
    return poll(() => page.locator("#messages li.mine:not(.local)", { hasText: text }).getAttribute("data-id"), 10000).toMatch(/^\d+$/);
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
    await joinAs(ada, links.ada.url, "Ada", "general", "join.png");
    await joinAs(bob, links.bob.url, "Bob", "general");

    await poll(() => ada.locator("#users li .name").allTextContents()).toEqual(["Ada", "Bob"]);
    await poll(() => bob.locator("#users li .name").allTextContents()).toEqual(["Ada", "Bob"]);

    await typeUntilSeen(ada, bob, "Hello Bob, tidewire speaks", "Ada is typing…");
    await send(ada, "Hello Bob, tidewire speaks socket.io!");

    const received = bob.locator("#messages li.message:not(.mine) .text");
    await poll(() => received.allTextContents()).toEqual(["Hello Bob, tidewire speaks socket.io!"]);
    // The sender's copy is confirmed by the server's ack (it carries an id).
    await confirmed(ada, "Hello Bob, tidewire speaks socket.io!");
    await poll(() => bob.textContent("#typing")).toBe("");

    await send(bob, "Hi Ada! Both tabs are live.");
    await poll(() => ada.locator("#messages li.message:not(.mine) .text").allTextContents())
      .toEqual(["Hi Ada! Both tabs are live."]);
  });

  it("starts on polling, upgrades to websocket, and says so with the round-trip time", async () => {
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
    await poll(() => ada.textContent("#status-text")).toBe("connected");
    await poll(() => ada.textContent("#status-transport")).toBe("polling → websocket");
    // Measured after the upgrade, over the websocket.
    await poll(() => ada.textContent("#status-rtt"), 8000).toMatch(/^\d+ ms$/);
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
    await poll(() => bob.locator("#messages li.file:not(.local) img").count()).toBe(2);
  });

  it("leaves a screenshot of the chat for a person to look at", async () => {
    await send(ada, "Looks good?");
    await typeUntilSeen(bob, ada, "Typing a reply", "Bob is typing…");
    await ada.bringToFront();
    await imagesLoaded(ada);
    await screenshot(ada, "chat.png");
    expect(existsSync(new URL("chat.png", artifacts))).toBe(true);
    await bob.fill("#text", "");
  });

  it("a short network drop loses nothing: missed messages arrive, a message typed meanwhile is sent once", async () => {
    const bobId = await bob.evaluate(() => (window as any).socket.id);
    links.bob.drop();
    await poll(() => bob.textContent("#status-text")).toBe("reconnecting…");
    await poll(() => bob.locator("#connection-lost").isVisible()).toBe(true);
    await poll(() => systemLines(ada)).toContain("Bob left");

    // Ada goes on talking and shows a picture; Bob writes while offline.
    await send(ada, "Did you get this while offline?");
    await confirmed(ada, "Did you get this while offline?");
    await ada.click("#doodle");
    await poll(() => ada.locator("#messages li.file:not(.local) img").count()).toBe(3);
    await send(bob, "Typed while the network was down");
    await poll(() => bob.locator("#messages li.local.waiting time").textContent()).toBe("waiting for the connection…");
    await screenshot(bob, "drop-offline.png");

    links.bob.restore();
    await poll(() => systemLines(bob), 15000).toContain("Reconnected, nothing missed");
    expect(await bob.evaluate(() => (window as any).socket.recovered)).toBe(true);
    expect(await bob.evaluate(() => (window as any).socket.id)).toBe(bobId);
    await poll(() => texts(bob)).toContain("Did you get this while offline?");
    await poll(() => bob.locator("#messages li.file img").count()).toBe(3);
    await confirmed(bob, "Typed while the network was down");
    await poll(() => texts(ada)).toContain("Typed while the network was down");
    await poll(() => systemLines(ada)).toContain("Bob is back");
    // Those notices are for the others, also in what the recovery replayed to Bob.
    expect(await systemLines(bob)).not.toContain("Bob left");
    expect(await systemLines(bob)).not.toContain("Bob is back");
    await poll(() => bob.textContent("#status-text")).toBe("connected");
    await poll(() => bob.locator("#connection-lost").isVisible()).toBe(false);
    await imagesLoaded(bob);
    await screenshot(bob, "drop-recovered.png");
    // Exactly once on both sides.
    for (const page of [ada, bob]) {
      expect((await texts(page)).filter((t) => t === "Typed while the network was down")).toHaveLength(1);
      expect((await texts(page)).filter((t) => t === "Did you get this while offline?")).toHaveLength(1);
    }
  }, 30000);

  it("a server restart: the pages keep the conversation, the history comes back, a message typed meanwhile is sent once", async () => {
    const before = await texts(ada);
    await app.stop();
    await poll(() => ada.textContent("#status-text")).toBe("reconnecting…");
    await poll(() => bob.textContent("#status-text")).toBe("reconnecting…");
    await send(ada, "Sent while the server was restarting");
    await poll(() => ada.locator("#messages li.local.waiting").count()).toBe(1);
    await screenshot(ada, "restart-offline.png");

    // Same history file, another port: the links follow it, the pages keep their address.
    app = await startExample("chat", teardown, { env: { CHAT_HISTORY_FILE: historyFile } });
    expect(app.output()).toMatch(/\([1-9]\d* messages of room history in /);
    for (const link of Object.values(links)) link.retarget(app.port);

    for (const page of [ada, bob]) {
      // "… (1 you had not seen)" when the other page's queued message went out first.
      const reconnected = (lines: string[]) =>
        lines.some((line) => line.startsWith("Reconnected with a new session: the room history came back from the server"));
      await poll(async () => reconnected(await systemLines(page)), 15000).toBe(true);
      expect(await page.evaluate(() => (window as any).socket.recovered)).toBe(false);
    }
    await confirmed(ada, "Sent while the server was restarting");
    await poll(() => texts(bob)).toContain("Sent while the server was restarting");
    // Nothing was wiped, nothing doubled.
    for (const page of [ada, bob]) {
      const now = await texts(page);
      for (const text of before) expect(now).toContain(text);
      expect(now.filter((t) => t === "Sent while the server was restarting")).toHaveLength(1);
      expect(new Set(now).size).toBe(now.length);
      await poll(() => page.locator("#messages li.file img").count()).toBe(3);
    }
    await poll(() => ada.locator("#users li .name").allTextContents()).toEqual(["Ada", "Bob"]);
    await imagesLoaded(ada);
    await screenshot(ada, "restart-back.png");

    // A fresh load of the page gets everything from the server alone.
    await joinAs(bob, links.bob.url, "Bob", "general");
    await poll(() => texts(bob)).toEqual(expect.arrayContaining([...before, "Sent while the server was restarting"]));
    await poll(() => bob.locator("#messages li.file img").count()).toBe(3);
    await imagesLoaded(bob);
  }, 40000);

  it("a server that does not answer: the message is marked failed, Retry sends it once", async () => {
    process.kill(app.pid, "SIGSTOP");
    try {
      await send(ada, "Is anybody there?");
      // The connection is up (heartbeats allow 45 s) but the ack never comes.
      await poll(() => ada.locator("#messages li.failed time").textContent(), 10000).toBe(
        "not delivered: no answer from the server",
      );
      await poll(() => ada.locator("#messages li.failed button.retry").isVisible()).toBe(true);
      await screenshot(ada, "failed-retry.png");
    } finally {
      process.kill(app.pid, "SIGCONT");
    }
    // The frozen server did get the message and posts it when it wakes; the
    // retry carries the same id and is answered with that same message.
    await poll(() => texts(bob)).toContain("Is anybody there?");
    await ada.click("#messages li.failed button.retry");
    await confirmed(ada, "Is anybody there?");
    for (const page of [ada, bob]) {
      expect((await texts(page)).filter((t) => t === "Is anybody there?")).toHaveLength(1);
    }
  }, 30000);

  it("on a phone (390x844): a late joiner sees earlier pictures, rooms and people are in a drawer", async () => {
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await joinAs(phone, links.cyd.url, "Cyd", "general", "phone-join.png");

    // The pictures posted before Cyd came, from the server's history.
    await poll(() => phone.locator("#messages li.file img").count()).toBe(3);
    await imagesLoaded(phone);
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await poll(() => phone.locator("#sidebar").isVisible()).toBe(false);
    await poll(() => phone.locator("#menu-toggle").isVisible()).toBe(true);
    await poll(() => phone.textContent("#menu-count")).toBe("3");
    await screenshot(phone, "phone-chat.png");

    await phone.click("#menu-toggle");
    await poll(() => phone.locator("#sidebar").isVisible()).toBe(true);
    // Slid in completely, over the conversation, not wider than the screen.
    await poll(() => phone.locator("#sidebar").boundingBox().then((box) => box && [box.x, box.width <= 390])).toEqual([0, true]);
    await poll(() => phone.locator("#users li .name").allTextContents()).toEqual(["Ada", "Bob", "Cyd"]);
    await poll(() => phone.locator("#rooms button", { hasText: "# random" }).isVisible()).toBe(true);
    await poll(() => phone.locator("#status-text").textContent()).toBe("connected");
    await poll(() => phone.textContent("#status-rtt"), 8000).toMatch(/^\d+ ms$/);
    await screenshot(phone, "phone-drawer.png");

    // A room is one tap away; the drawer closes on the way.
    await phone.click("#rooms button:has-text('# random')");
    await poll(() => phone.textContent("#room-title")).toBe("# random");
    await poll(() => phone.locator("#sidebar").isVisible()).toBe(false);
    await phone.click("#menu-toggle");
    await phone.click("#rooms button:has-text('# general')");
    await poll(() => phone.textContent("#room-title")).toBe("# general");
    await poll(() => phone.locator("#messages li.file img").count()).toBe(3);

    await send(phone, "Hello from a phone");
    await poll(() => texts(ada)).toContain("Hello from a phone");
    await imagesLoaded(phone);
    await screenshot(phone, "phone-sent.png");
    await phone.close();
  }, 30000);
});
