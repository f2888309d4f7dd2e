/**
 * The trace context read from another node's message (adapter/bus/context.ts):
 * only a small object of strings reaches the propagator; anything else from
 * the wire (a hostile or broken node) is dropped, never thrown.
 */
import { describe, expect, it } from "vitest";
import { readCarrier } from "../../src/adapter/bus/context.js";

const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

describe("readCarrier", () => {
  it("keeps traceparent and tracestate", () => {
    expect(readCarrier({ traceparent: TRACEPARENT, tracestate: "a=1,b=2" })).toEqual({ traceparent: TRACEPARENT, tracestate: "a=1,b=2" });
  });

  it("drops what is not a small object of strings", () => {
    for (const value of [undefined, null, "traceparent", 1, true, [TRACEPARENT], {}, { traceparent: 1 }, { traceparent: { deep: TRACEPARENT } }]) {
      expect(readCarrier(value)).toBeUndefined();
    }
    const many: Record<string, string> = {};
    for (let i = 0; i < 9; i++) many[`k${i}`] = "v";
    expect(readCarrier(many)).toBeUndefined();
    expect(readCarrier({ traceparent: "x".repeat(1025) })).toBeUndefined();
    expect(readCarrier({ ["k".repeat(65)]: "v" })).toBeUndefined();
    // Exactly at the bounds is fine.
    delete many.k8;
    expect(Object.keys(readCarrier(many)!)).toHaveLength(8);
    expect(readCarrier({ traceparent: "x".repeat(1024) })).toBeDefined();
  });
});
