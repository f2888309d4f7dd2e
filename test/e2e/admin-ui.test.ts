/**
 * The admin dashboard that @socket.io/admin-ui 0.5.1 ships (ui/dist), served
 * from 127.0.0.1 by a small static handler, in real headless Chromium against
 * a tidewire server instrumented with basic authentication. Official Node
 * clients are connected in namespaces and rooms; the page logs in through its
 * connection form (a wrong password first), and the dashboard, socket and
 * room lists must show them. Screenshots go to test/e2e/artifacts/ for a
 * person to look at. Requests leaving 127.0.0.1 (web fonts, icon CDN) are
 * refused: the dashboard works without them.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server as HttpServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, sep } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { instrument } from "@socket.io/admin-ui";
import { closeAll, closeHttpServer, connectPair, createIoServer, listen, waitFor, type IoServerHandle } from "../helpers/io.js";

const CHROMIUM = "/usr/bin/chromium";
const IN_CI = process.env.CI === "true";
const browserMissing = !existsSync(CHROMIUM);
if (browserMissing) {
  console.warn(
    `\n*** ${IN_CI ? "FAILING (CI=true)" : "SKIPPING"} test/e2e/admin-ui: no browser at ${CHROMIUM}. ` +
      "Install Debian's chromium package (apt-get install chromium) to run the real-browser tests. ***\n",
  );
}

const artifacts = new URL("./artifacts/", import.meta.url);
const require = createRequire(import.meta.url);
const adminUiRoot = dirname(require.resolve("@socket.io/admin-ui/package.json"));
const uiDist = join(adminUiRoot, "ui", "dist");
const bcrypt = createRequire(require.resolve("@socket.io/admin-ui"))("bcryptjs") as {
  hashSync(password: string, rounds: number): string;
};

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".map": "application/json",
};

/** Serves the files under `root` (GET only, no directory listing, nothing outside it). */
function staticServer(root: string): HttpServer {
  return createServer(async (req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = normalize(join(root, pathname === "/" ? "index.html" : pathname));
    if (req.method !== "GET" || !file.startsWith(root + sep)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
}

/** expect.poll with room for a loaded CI machine. */
function poll<T>(read: () => T | Promise<T>, timeout = 8000) {
  return expect.poll(read, { timeout, interval: 100 });
}

// With CI=true a missing browser is a failure, never a skip.
it.runIf(browserMissing && IN_CI)(`finds Chromium at ${CHROMIUM} (required when CI=true)`, () => {
  throw new Error(`CI=true but no browser at ${CHROMIUM}: .ci/run must install Debian's chromium package`);
});

describe.skipIf(browserMissing)("the admin UI's dashboard in headless Chromium", { timeout: 30000 }, () => {
  const username = "admin";
  const password = "changeit";
  let ui: HttpServer;
  let uiUrl: string;
  let handle: IoServerHandle;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  /** Socket ids of the official clients, by user. */
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    expect(existsSync(join(uiDist, "index.html"))).toBe(true);
    ui = staticServer(uiDist);
    uiUrl = `http://127.0.0.1:${await listen(ui)}`;

    // The dashboard runs on another origin and connects withCredentials.
    handle = await createIoServer({ cors: { origin: uiUrl, credentials: true } });
    const { io } = handle;
    instrument(io, {
      auth: { type: "basic", username, password: bcrypt.hashSync(password, 8) },
      mode: "development",
      serverId: "tidewire-e2e",
    });
    io.on("connection", (socket) => {
      socket.data.user = socket.handshake.auth.user;
      for (const room of socket.handshake.auth.rooms ?? []) socket.join(room);
    });
    io.of("/chat").on("connection", (socket) => socket.join("general"));

    const people: Array<[string, "websocket" | "polling" | "upgrade", string[]]> = [
      ["ada", "websocket", ["lobby", "vip"]],
      ["bob", "upgrade", ["lobby"]],
      ["cy", "polling", ["support"]],
    ];
    for (const [user, mode, rooms] of people) {
      const { socket } = await connectPair(handle, mode, { auth: { user, rooms } });
      ids[user] = socket.id;
    }
    ids.chat = (await connectPair(handle, "websocket", {}, "/chat")).socket.id;

    profile = await mkdtemp(join(tmpdir(), "tidewire-e2e-admin-"));
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
      viewport: { width: 1400, height: 900 },
    });
    // No internet here: the page's Google Fonts and icon CDN links are refused at once.
    await context.route(
      (url) => url.hostname !== "127.0.0.1",
      (route) => route.abort("internetdisconnected"),
    );
    page = await context.newPage();
  }, 30000);

  afterAll(async () => {
    await context?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
    await closeAll();
    if (ui) await closeHttpServer(ui);
  }, 15000);

  /** A screenshot once page transitions and chart animations are over. */
  async function screenshot(name: string): Promise<void> {
    await poll(async () => {
      const before = await chartPixels();
      await page.waitForTimeout(250);
      return (await chartPixels()) === before;
    }).toBe(true);
    await mkdir(artifacts, { recursive: true });
    await page.screenshot({ path: new URL(name, artifacts).pathname, fullPage: true, animations: "disabled" });
  }

  function chartPixels(): Promise<string> {
    return page.evaluate(() => [...document.querySelectorAll("canvas")].map((c) => c.toDataURL()).join());
  }

  it("refuses a wrong password in the connection form, then logs in", async () => {
    await page.goto(uiUrl);
    const dialog = page.locator(".v-dialog--active");
    await dialog.waitFor();
    await dialog.getByLabel("Server URL").fill(handle.url);
    await dialog.getByLabel("Username").fill(username);
    await dialog.getByLabel("Password").fill("wrong");
    await dialog.locator("button[type=submit]").click();
    await poll(() => dialog.textContent()).toContain("Invalid credentials");

    const authenticated = waitFor(handle.io.of("/admin"), "connection", 8000);
    await dialog.getByLabel("Password").fill(password);
    await dialog.locator("button[type=submit]").click();
    await authenticated;
    await dialog.waitFor({ state: "hidden" });
    await poll(() => page.locator("header").textContent()).toContain("Status: connected");
  });

  it("shows the clients, servers and namespaces on the dashboard", async () => {
    await page.goto(`${uiUrl}/#/`);
    const main = page.locator("main");
    const row = (text: string) => main.locator("tr", { has: page.getByText(text, { exact: true }) });
    // Clients by transport: ada, bob (upgraded), the /chat client and the dashboard's
    // own connection on WebSocket; cy on long-polling.
    await poll(() => row("WebSocket").textContent()).toMatch(/WebSocket\s*4\s*80\.0 %/);
    await poll(() => row("HTTP long-polling").textContent()).toMatch(/long-polling\s*1\s*20\.0 %/);
    await poll(() => row("Healthy").textContent()).toMatch(/Healthy\s*1\s*100\.0 %/);
    // Namespaces with their socket counts.
    await poll(() => row("/").textContent()).toBe("/3");
    await poll(() => row("/chat").textContent()).toBe("/chat1");
    await poll(() => row("/admin").textContent()).toBe("/admin1");
    // The connection and bytes charts are drawn once a stats tick brought aggregated events.
    await poll(() => main.locator("canvas").count()).toBeGreaterThanOrEqual(3);
    await screenshot("admin-ui-dashboard.png");
  });

  it("lists the sockets with their transports, and the rooms with their members", async () => {
    await page.goto(`${uiUrl}/#/sockets/`);
    const main = page.locator("main");
    for (const user of ["ada", "bob", "cy"]) await poll(() => main.textContent()).toContain(ids[user]);
    const row = (id: string) => main.locator("tr", { hasText: id });
    await poll(() => row(ids.ada).textContent()).toContain("WebSocket");
    await poll(() => row(ids.bob).textContent()).toContain("WebSocket");
    await poll(() => row(ids.cy).textContent()).toContain("HTTP long-polling");
    await screenshot("admin-ui-sockets.png");

    await page.goto(`${uiUrl}/#/rooms/`);
    for (const room of ["lobby", "vip", "support"]) await poll(() => main.textContent()).toContain(room);
    await poll(() => main.locator("tr", { hasText: "lobby" }).textContent()).toMatch(/\b2\b/);
    await screenshot("admin-ui-rooms.png");
  });

  it("makes a socket leave a room and join another from the dashboard, and the server sees it", async () => {
    const socket = handle.io.of("/").sockets.get(ids.ada)!;
    expect(socket.rooms.has("vip")).toBe(true);
    await page.goto(`${uiUrl}/#/n/%2F/rooms/vip`);
    const main = page.locator("main");
    const member = main.locator("tr", { hasText: ids.ada });
    await member.waitFor();
    await screenshot("admin-ui-room-vip.png");
    // "Remove the Socket instance from this room" (its icon font comes from a CDN: no glyph here).
    await member.locator("button:has(.mdi-tag-off-outline)").click();
    await poll(() => socket.rooms.has("vip")).toBe(false);

    // The socket's page: its rooms as the dashboard now knows them, and its "Join a room" form.
    await page.goto(`${uiUrl}/#/n/%2F/sockets/${ids.ada}`);
    const rooms = main.locator(".v-card", { hasText: "Join a room" });
    const listed = async () => (await rooms.locator("tbody tr").allTextContents()).sort();
    await poll(listed).toEqual([ids.ada, "lobby"].sort());
    await rooms.getByLabel("Join a room").fill("stage");
    await rooms.locator("button[type=submit]").click();
    await poll(() => socket.rooms.has("stage")).toBe(true);
    await poll(listed).toEqual([ids.ada, "lobby", "stage"].sort());
    await screenshot("admin-ui-socket.png");
  });
});
