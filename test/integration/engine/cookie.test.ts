import { afterEach, describe, expect, it } from "vitest";
import { closeAll, eioPath, pollingHandshake, pollPost, startEngine } from "../../helpers/engine.js";
import { WebSocket } from "ws";

afterEach(closeAll);

describe("engine sticky-session cookie", () => {
  it("off by default", async () => {
    const h = await startEngine();
    const { response } = await pollingHandshake(h);
    expect(response.headers["set-cookie"]).toBeUndefined();
  });

  it("cookie: true sets io=<sid>; Path=/; HttpOnly; SameSite=Lax on the polling handshake only", async () => {
    const h = await startEngine({ cookie: true });
    const { sid, response } = await pollingHandshake(h);
    expect(response.headers["set-cookie"]).toEqual([`io=${sid}; Path=/; HttpOnly; SameSite=Lax`]);
    const post = await pollPost(h, sid, "4x");
    expect(post.headers["set-cookie"]).toBeUndefined();
  });

  it("options are merged over the defaults; path: false omits Path", async () => {
    const h = await startEngine({ cookie: { name: "sticky", path: false as any, sameSite: "strict", maxAge: 60 } });
    const { sid, response } = await pollingHandshake(h);
    expect(response.headers["set-cookie"]).toEqual([`sticky=${sid}; Max-Age=60; HttpOnly; SameSite=Strict`]);
  });

  it("no cookie on a websocket-only handshake", async () => {
    const h = await startEngine({ cookie: true });
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${h.port}${eioPath(h, { transport: "websocket" })}`);
      ws.on("upgrade", (res) => resolve(res.headers));
      ws.on("error", reject);
      ws.on("open", () => ws.close());
    });
    expect(headers["set-cookie"]).toBeUndefined();
  });
});
