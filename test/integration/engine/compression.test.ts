import { gunzipSync, inflateSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import {
  closeAll,
  pollGet,
  pollingHandshake,
  startEngine,
  tidewireOnly,
  waitFor,
  type EngineHandle,
  type EngineSocket,
} from "../../helpers/engine.js";

afterEach(closeAll);

async function session(h: EngineHandle) {
  const connection = waitFor<[EngineSocket]>(h.engine, "connection");
  const { sid } = await pollingHandshake(h);
  const [conn] = await connection;
  return { sid, conn };
}

const BIG = "a".repeat(2000);

describe("engine HTTP compression of polling responses", () => {
  it("gzip when accepted and the body reaches the threshold", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    conn.send(BIG);
    const res = await pollGet(h, sid, {}, { "Accept-Encoding": "gzip, deflate, br" });
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(res.body).toString()).toBe("4" + BIG);
  });

  it.skipIf(tidewireOnly)("the compressed response has a Content-Length", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    conn.send(BIG);
    const res = await pollGet(h, sid, {}, { "Accept-Encoding": "gzip" });
    expect(Number(res.headers["content-length"])).toBe(res.body.length);
    expect(res.body.length).toBeLessThan(200);
  });

  it("deflate when only deflate is accepted, or preferred by quality", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    for (const accept of ["deflate", "gzip;q=0.5, deflate", "gzip;q=0, deflate;q=0.1"]) {
      conn.send(BIG);
      const res = await pollGet(h, sid, {}, { "Accept-Encoding": accept });
      expect(res.headers["content-encoding"]).toBe("deflate");
      expect(inflateSync(res.body).toString()).toBe("4" + BIG);
    }
    conn.send(BIG);
    const star = await pollGet(h, sid, {}, { "Accept-Encoding": "*" });
    expect(star.headers["content-encoding"]).toBe("gzip");
  });

  it("parameters are read as engine.io's accepts reads them: only a lower-case q= counts, the first one", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    for (const [accept, expected] of [
      ["gzip;Q=0, deflate", "gzip"],
      ["gzip; q = 0, deflate", "gzip"],
      ["gzip;q=0;q=1, deflate", "deflate"],
      ["deflate, gzip", "deflate"],
    ]) {
      conn.send(BIG);
      const res = await pollGet(h, sid, {}, { "Accept-Encoding": accept });
      expect(res.headers["content-encoding"], accept).toBe(expected);
    }
  });

  it("not compressed: below threshold, not accepted, refused by q=0, compress: false, option off", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    conn.send("a".repeat(1000));
    expect((await pollGet(h, sid, {}, { "Accept-Encoding": "gzip" })).headers["content-encoding"]).toBeUndefined();
    conn.send(BIG);
    expect((await pollGet(h, sid, {}, {})).headers["content-encoding"]).toBeUndefined();
    conn.send(BIG);
    expect((await pollGet(h, sid, {}, { "Accept-Encoding": "gzip;q=0, identity" })).headers["content-encoding"]).toBeUndefined();
    conn.send(BIG, { compress: false });
    const res = await pollGet(h, sid, {}, { "Accept-Encoding": "gzip" });
    expect(res.headers["content-encoding"]).toBeUndefined();
    expect(res.text).toBe("4" + BIG);

    const off = await startEngine({ httpCompression: false });
    const s2 = await session(off);
    s2.conn.send(BIG);
    expect((await pollGet(off, s2.sid, {}, { "Accept-Encoding": "gzip" })).headers["content-encoding"]).toBeUndefined();
  });

  it("the threshold is configurable", async () => {
    const h = await startEngine({ httpCompression: { threshold: 10 } });
    const { sid, conn } = await session(h);
    conn.send("hello world!");
    const res = await pollGet(h, sid, {}, { "Accept-Encoding": "gzip" });
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(res.body).toString()).toBe("4hello world!");
  });
});
