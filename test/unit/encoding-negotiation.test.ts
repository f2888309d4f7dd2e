/**
 * Content-coding negotiation (engine/compression.ts `negotiate`) against the
 * `accepts` package that the reference uses for the same choice: engine.io
 * for polling responses (gzip, deflate), socket.io for the client bundle
 * (br, gzip, deflate). Any Accept-Encoding header gives the same answer.
 */
import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { negotiate, negotiateEncoding } from "../../src/engine/compression.js";

const require = createRequire(import.meta.url);
// The very copies of `accepts` that socket.io and engine.io load.
const socketIoAccepts = createRequire(require.resolve("socket.io"))("accepts");
const engineIoAccepts = createRequire(require.resolve("engine.io"))("accepts");

const BUNDLE = ["br", "gzip", "deflate"] as const;
const POLLING = ["gzip", "deflate"] as const;

function reference(accepts: any, header: string, candidates: readonly string[]): string | null {
  return accepts({ headers: { "accept-encoding": header } }).encodings([...candidates]) || null;
}

describe("negotiate", () => {
  it.each([
    ["gzip, deflate, br, zstd", "gzip"], // Chrome
    ["gzip, deflate, br", "gzip"], // Firefox, Safari
    ["gzip,br,deflate", "gzip"], // socket.io's own test
    ["br", "br"],
    ["br, gzip", "br"],
    ["gzip;q=0.5, br", "br"],
    ["deflate, gzip;q=0.9", "deflate"],
    ["*", "br"],
    ["identity", null],
    ["", null],
    ["br;q=0, *", "gzip"],
  ])("Accept-Encoding %j gives %j for the bundle, as socket.io", (header, expected) => {
    expect(negotiate(header, BUNDLE)).toBe(expected);
    expect(reference(socketIoAccepts, header, BUNDLE)).toBe(expected);
  });

  it("reads a header up to its 64th entry (accepts reads them all)", () => {
    const padded = (n: number) => [...Array.from({ length: n }, (_, i) => `x-${i}`), "gzip"].join(", ");
    expect(negotiate(padded(63), BUNDLE)).toBe("gzip");
    expect(negotiate(padded(64), BUNDLE)).toBeNull();
    expect(reference(socketIoAccepts, padded(64), BUNDLE)).toBe("gzip");
  });

  it("answers as accepts does for any header", () => {
    const coding = fc.constantFrom("gzip", "GZIP", "deflate", "br", "Br", "zstd", "identity", "*", "x-gzip", "compress", "");
    const q = fc.constantFrom("", ";q=0", ";q=1", ";q=0.5", ";q=0.50", ";q=0.001", ";Q=0", "; q=0", ";q =0", ";q=abc", ";q", ";q=0;q=1", ";level=1;q=0.2", ";q=-1", ";q=2");
    const space = fc.constantFrom("", " ", "  ", "\t");
    const entry = fc.tuple(space, coding, q, space).map(([a, c, p, b]) => a + c + p + b);
    const header = fc.array(entry, { maxLength: 8 }).map((entries) => entries.join(","));
    fc.assert(
      fc.property(header, (h) => {
        expect(negotiate(h, BUNDLE)).toBe(reference(socketIoAccepts, h, BUNDLE));
        expect(negotiateEncoding(h)).toBe(reference(engineIoAccepts, h, POLLING));
      }),
      { numRuns: 3000 },
    );
  });
});
