/**
 * Class 8: CORS (CVE-2020-28481: socket.io once reflected any Origin with
 * credentials by default). Reference outcome, hardened: without the `cors`
 * option no Access-Control-* header is ever sent; with it, a disallowed
 * origin is never reflected and never receives
 * Access-Control-Allow-Credentials, on handshakes, POSTs, error responses
 * and preflights alike. Browsers do not apply CORS to WebSocket upgrades
 * (whatever headers the 101 carries): an application checks Origin in
 * allowRequest, which applies to both transports.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  Canary,
  closeAll,
  echoServer,
  expectNoLeak,
  fetchText,
  pollingHandshake,
  rawHttp,
  RawWebSocket,
  SIO_POLLING_PATH,
  SIO_WS_PATH,
  upgradeHead,
  type IoServerHandle,
  type TextResponse,
} from "./helpers.js";

afterEach(closeAll);

const EVIL = [
  "https://evil.example",
  "https://good.example.evil.example",
  "https://evilgood.example",
  "http://good.example",
  "https://good.example:8443",
  "HTTPS://GOOD.EXAMPLE",
  "null",
  "https://x.trusted.example.evil.example",
];

/** Every response the attacker can get from a polling endpoint, with its Origin. */
async function responses(handle: IoServerHandle, origin: string): Promise<Array<[string, TextResponse]>> {
  const headers = { Origin: origin };
  const sid = await pollingHandshake(handle.port);
  const path = `${SIO_POLLING_PATH}&sid=${sid}`;
  return [
    ["handshake", await fetchText(handle.port, SIO_POLLING_PATH, { headers })],
    ["POST", await fetchText(handle.port, path, { method: "POST", body: "40", headers })],
    ["GET", await fetchText(handle.port, path, { headers })],
    ["unknown sid", await fetchText(handle.port, `${SIO_POLLING_PATH}&sid=nope`, { headers })],
    ["bad transport", await fetchText(handle.port, "/socket.io/?EIO=4&transport=x", { headers })],
    [
      "preflight",
      await fetchText(handle.port, SIO_POLLING_PATH, {
        method: "OPTIONS",
        headers: { ...headers, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" },
      }),
    ],
    ["client bundle", await fetchText(handle.port, "/socket.io/socket.io.min.js", { headers })],
  ];
}

function corsHeaders(res: TextResponse): Record<string, unknown> {
  return Object.fromEntries(Object.entries(res.headers).filter(([name]) => name.startsWith("access-control-")));
}

describe("hostile: CORS", () => {
  it("without the cors option: no Access-Control-* header at all, an OPTIONS handshake is refused", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      for (const origin of ["https://evil.example", "null"]) {
        for (const [what, res] of await responses(handle, origin)) {
          expect(corsHeaders(res), what).toEqual({});
          if (what === "preflight") expect(res.body).toBe('{"code":2,"message":"Bad handshake method"}');
        }
      }
    });
  });

  it("a disallowed origin is never reflected and never gets credentials (string, array, RegExp, function)", async () => {
    const allowed = ["https://good.example", /^https:\/\/[a-z]+\.trusted\.example$/];
    const configs: Array<[string, object]> = [
      ["a fixed origin", { origin: "https://good.example", credentials: true }],
      ["an array with a RegExp", { origin: allowed, credentials: true }],
      [
        "a function",
        {
          origin: (o: string | undefined, cb: (e: Error | null, allow?: boolean) => void) =>
            cb(null, o === "https://good.example" || /^https:\/\/[a-z]+\.trusted\.example$/.test(o ?? "")),
          credentials: true,
        },
      ],
    ];
    for (const [label, cors] of configs) {
      const handle = await echoServer({ cors });
      const canary = await Canary.connect(handle);
      await canary.during(async () => {
        for (const origin of EVIL) {
          for (const [what, res] of await responses(handle, origin)) {
            const headers = corsHeaders(res);
            const where = `${label}, ${what}, Origin ${origin}`;
            expect(headers["access-control-allow-origin"], where).not.toBe(origin);
            expect(headers["access-control-allow-origin"], where).not.toBe("*");
            expect(headers["access-control-allow-credentials"], where).toBeUndefined();
          }
        }
        // The allowed origins do get both, the client bundle included (as in socket.io).
        for (const origin of ["https://good.example", "https://app.trusted.example"]) {
          if (label === "a fixed origin" && origin !== "https://good.example") continue;
          for (const [what, res] of await responses(handle, origin)) {
            const headers = corsHeaders(res);
            expect(headers["access-control-allow-origin"], `${label}, ${what}`).toBe(origin);
            expect(headers["access-control-allow-credentials"], `${label}, ${what}`).toBe("true");
          }
        }
      });
    }
  });

  it('origin "*" is sent as "*", never as the caller\'s origin; a failing origin function answers no CORS headers', async () => {
    const star = await echoServer({ cors: { origin: "*", credentials: true } });
    for (const [what, res] of await responses(star, "https://evil.example")) {
      expect(res.headers["access-control-allow-origin"], what).toBe("*");
    }
    const failing = await echoServer({
      cors: { origin: (_o: string | undefined, cb: (e: Error | null) => void) => cb(new Error("lookup failed")), credentials: true },
    });
    const res = await fetchText(failing.port, SIO_POLLING_PATH, { headers: { Origin: "https://evil.example" } });
    expect(res.status).toBe(400);
    expect(res.body).toBe('{"code":3,"message":"Bad request"}');
    expect(corsHeaders(res)).toEqual({});
  });

  it("browsers do not apply CORS to WebSocket upgrades: allowRequest checks Origin on both transports", async () => {
    const handle = await echoServer({
      cors: { origin: "https://good.example", credentials: true },
      allowRequest: (req, cb) => cb(req.headers.origin === "https://evil.example" ? "origin not allowed" : null, req.headers.origin !== "https://evil.example"),
    });
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      const good = await RawWebSocket.open(handle.port, SIO_WS_PATH, "Origin: https://good.example\r\n");
      expect(await good.next()).toMatch(/^0\{/);
      const evilWs = await rawHttp(handle.port, upgradeHead(SIO_WS_PATH, "Origin: https://evil.example\r\n") + "\r\n");
      expect(evilWs.text).toMatch(/^HTTP\/1\.1 400 [\s\S]*\r\n\r\norigin not allowed$/);
      expect(evilWs.text).not.toMatch(/access-control-/i);
      const evilPolling = await fetchText(handle.port, SIO_POLLING_PATH, { headers: { Origin: "https://evil.example" } });
      expect(evilPolling.status).toBe(403);
      expect(evilPolling.body).toBe('{"code":4,"message":"origin not allowed"}');
      expect(evilPolling.headers["access-control-allow-credentials"]).toBeUndefined();
    });
  });

  it("leaves nothing behind: sessions are collected, the heap returns to its baseline", async () => {
    const handle = await echoServer({ cors: { origin: ["https://good.example"], credentials: true } });
    const canary = await Canary.connect(handle);
    await expectNoLeak(
      handle,
      canary,
      async () => {
        for (const origin of EVIL.slice(0, 3)) {
          const all = await responses(handle, origin);
          expect(all).toHaveLength(7);
        }
        // Sessions the attacker opened and left: closed by the client's close packet.
        for (const sid of Object.keys(handle.io.engine.clients)) {
          if (handle.io.engine.clients[sid]!.transport.name === "polling") {
            await fetchText(handle.port, `${SIO_POLLING_PATH}&sid=${sid}`, { method: "POST", body: "1" });
          }
        }
      },
      { minTracked: 6 },
    );
  });
});
