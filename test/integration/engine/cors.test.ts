import { afterEach, describe, expect, it } from "vitest";
import {
  closeAll,
  eioPath,
  pollingHandshake,
  request,
  startEngine,
  tidewireOnly,
  type EngineHandle,
} from "../../helpers/engine.js";

afterEach(closeAll);

function preflight(h: EngineHandle, origin?: string, extra: Record<string, string> = {}) {
  return request(h, {
    method: "OPTIONS",
    path: eioPath(h),
    headers: {
      ...(origin ? { Origin: origin } : {}),
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "content-type,x-custom",
      ...extra,
    },
  });
}

describe("engine CORS", () => {
  it("off by default: no CORS headers, an OPTIONS handshake is code 2", async () => {
    const h = await startEngine();
    const res = await preflight(h, "http://a.example");
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toEqual({ code: 2, message: "Bad handshake method" });
    const { response } = await pollingHandshake(h);
    expect(Object.keys(response.headers).filter((k) => k.startsWith("access-control"))).toEqual([]);
  });

  it("cors: true answers preflights with 204 and the defaults", async () => {
    const h = await startEngine({ cors: true });
    const res = await preflight(h, "http://a.example");
    expect(res.status).toBe(204);
    expect(res.headers["access-control-allow-origin"]).toBe("*");
    expect(res.headers["access-control-allow-methods"]).toBe("GET,HEAD,PUT,PATCH,POST,DELETE");
    expect(res.headers["access-control-allow-headers"]).toBe("content-type,x-custom");
    expect(res.headers["vary"]).toBe("Access-Control-Request-Headers");
    expect(res.headers["content-length"]).toBe("0");
    expect(h.engine.clientsCount).toBe(0);
  });

  it("a fixed origin is announced with Vary: Origin, on polling responses and errors too", async () => {
    const h = await startEngine({ cors: { origin: "http://a.example" } });
    const { sid, response } = await pollingHandshake(h, {});
    expect(response.headers["access-control-allow-origin"]).toBe("http://a.example");
    expect(response.headers["vary"]).toBe("Origin");
    const headers = { Origin: "http://a.example" };
    const post = await request(h, { method: "POST", path: eioPath(h, { sid }), body: "4x", headers });
    expect(post.headers["access-control-allow-origin"]).toBe("http://a.example");
    const error = await request(h, { path: eioPath(h, { sid: "unknown" }), headers: { Origin: "http://a.example" } });
    expect(error.status).toBe(400);
    expect(error.headers["access-control-allow-origin"]).toBe("http://a.example");
  });

  it("an array / RegExp of origins reflects only allowed origins", async () => {
    const h = await startEngine({ cors: { origin: ["http://a.example", /\.b\.example$/], credentials: true } });
    for (const origin of ["http://a.example", "https://x.b.example"]) {
      const res = await preflight(h, origin);
      expect(res.headers["access-control-allow-origin"]).toBe(origin);
      expect(res.headers["access-control-allow-credentials"]).toBe("true");
      expect(res.headers["vary"]).toContain("Origin");
    }
    const denied = await preflight(h, "http://evil.example");
    expect(denied.headers["access-control-allow-origin"]).toBeUndefined();
    const get = await request(h, { path: eioPath(h), headers: { Origin: "http://evil.example" } });
    expect(get.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it.skipIf(tidewireOnly)("credentials are only announced for an allowed origin", async () => {
    const h = await startEngine({ cors: { origin: ["http://a.example"], credentials: true } });
    const denied = await preflight(h, "http://evil.example");
    expect(denied.headers["access-control-allow-credentials"]).toBeUndefined();
    const allowed = await preflight(h, "http://a.example");
    expect(allowed.headers["access-control-allow-credentials"]).toBe("true");
  });

  it("origin: true reflects the request origin", async () => {
    const h = await startEngine({ cors: { origin: true } });
    const res = await preflight(h, "http://any.example");
    expect(res.headers["access-control-allow-origin"]).toBe("http://any.example");
  });

  it("an origin function decides, asynchronously", async () => {
    const h = await startEngine({
      cors: {
        origin: (origin, cb) => setTimeout(() => cb(null, origin === "http://ok.example"), 1),
      },
    });
    expect((await preflight(h, "http://ok.example")).headers["access-control-allow-origin"]).toBe("http://ok.example");
    const denied = await preflight(h, "http://no.example");
    expect(denied.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("methods, allowedHeaders, exposedHeaders, maxAge, optionsSuccessStatus", async () => {
    const h = await startEngine({
      cors: {
        origin: "*",
        methods: ["GET", "POST"],
        allowedHeaders: ["x-a", "x-b"],
        exposedHeaders: "x-exposed",
        maxAge: 600,
        optionsSuccessStatus: 200,
      },
    });
    const res = await preflight(h, "http://a.example");
    expect(res.status).toBe(200);
    expect(res.headers["access-control-allow-methods"]).toBe("GET,POST");
    expect(res.headers["access-control-allow-headers"]).toBe("x-a,x-b");
    expect(res.headers["access-control-expose-headers"]).toBe("x-exposed");
    expect(res.headers["access-control-max-age"]).toBe("600");
    const { response } = await pollingHandshake(h);
    expect(response.headers["access-control-expose-headers"]).toBe("x-exposed");
    expect(response.headers["access-control-allow-methods"]).toBeUndefined();
  });
});
