/**
 * The iterative JSON writer gives JSON.stringify's output byte for byte
 * (same exceptions too), and goes deeper than JSON.stringify can.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringifyDeep } from "../../src/io/protocol/deep-json.js";

function outcome(fn: () => string | undefined): { value?: string; error?: string } {
  try {
    return { value: fn() };
  } catch (err) {
    return { error: (err as Error).constructor.name };
  }
}

/** Values JSON treats specially: toJSON, boxed primitives, holes, skipped members, odd numbers. */
const special = fc.constantFrom<unknown>(
  undefined,
  null,
  -0,
  NaN,
  Infinity,
  -1e-7,
  1e21,
  "\u2028\ud800\"\\\n",
  () => 1,
  Symbol("s"),
  new Date(0),
  new Number(3),
  new String("boxed"),
  new Boolean(false),
  Object(Symbol("boxed symbol")),
  { toJSON: (key: string) => `key:${key}` },
  { toJSON: () => undefined },
  { toJSON: () => ({ nested: [1, { toJSON: () => "inner" }] }) },
  [1, , 3], // a hole
  Object.create(null, { a: { value: 1, enumerable: true }, hidden: { value: 2, enumerable: false } }),
  { [Symbol("k")]: 1, visible: 2 },
  { "": 1, __proto__: null },
  JSON.parse('{"__proto__":{"x":1}}'),
);

const value = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: "small" },
    fc.jsonValue(),
    special,
    fc.array(tie("node"), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie("node"), { maxKeys: 4 }),
  ),
})).node;

describe("io/protocol stringifyDeep", () => {
  it("matches JSON.stringify on arbitrary values, with and without a replacer", () => {
    const replacers = [
      undefined,
      function (this: any, key: string, v: unknown) {
        if (key === "a") return undefined;
        if (typeof v === "number") return v * 2;
        if (Array.isArray(this) && key === "0") return { holder: "array" };
        return v;
      },
    ];
    fc.assert(
      fc.property(value, fc.constantFrom(...replacers), (v, replacer) => {
        expect(outcome(() => stringifyDeep(v, replacer))).toEqual(outcome(() => JSON.stringify(v, replacer)));
      }),
      { numRuns: 500 },
    );
  });

  it("calls toJSON and the replacer with the key and the holder JSON.stringify uses", () => {
    const calls = (fn: (v: unknown, r: (this: any, k: string, v: unknown) => unknown) => unknown) => {
      const log: string[] = [];
      const data = { list: [{ toJSON: (k: string) => `t${k}` }], n: 1 };
      fn(data, function (this: any, k, v) {
        log.push(`${Array.isArray(this) ? "array" : typeof this}:${k}:${JSON.stringify(v) ?? "undefined"}`);
        return v;
      });
      return log;
    };
    expect(calls(stringifyDeep)).toEqual(calls((v, r) => JSON.stringify(v, r)));
  });

  it("throws what JSON.stringify throws: TypeError for cycles and BigInt, a toJSON's own error", () => {
    const cyclic: any = { a: [1] };
    cyclic.a.push(cyclic);
    expect(() => stringifyDeep(cyclic)).toThrow(TypeError);
    expect(() => stringifyDeep({ n: 1n })).toThrow(TypeError);
    const boom = new Error("boom");
    expect(() =>
      stringifyDeep({
        toJSON() {
          throw boom;
        },
      }),
    ).toThrow(boom);
    // The same object twice, side by side, is not a cycle.
    const shared = { s: 1 };
    expect(stringifyDeep([shared, shared])).toBe('[{"s":1},{"s":1}]');
  });

  it("returns undefined where JSON.stringify does", () => {
    for (const v of [undefined, () => 1, Symbol("x"), { toJSON: () => undefined }]) {
      expect(stringifyDeep(v)).toBe(JSON.stringify(v));
    }
  });

  it("writes 200,000 levels of arrays and objects, which JSON.stringify cannot", () => {
    const depth = 200_000;
    let arr: unknown = "leaf";
    let obj: unknown = null;
    for (let i = 0; i < depth; i++) {
      arr = [arr, i % 2 === 0 ? undefined : 1];
      obj = { k: obj, skip: undefined };
    }
    expect(() => JSON.stringify(arr)).toThrow(RangeError);
    const text = stringifyDeep(arr) as string;
    expect(text.length).toBeGreaterThan(depth * 2);
    // JSON.parse reads it back to the same structure, and stringifyDeep writes that identically.
    expect(stringifyDeep(JSON.parse(text))).toBe(text);
    expect(stringifyDeep(obj)).toBe('{"k":'.repeat(depth) + "null" + "}".repeat(depth));
  });

  it("agrees with JSON.stringify just below the native depth limit", () => {
    let v: unknown = { x: [1, "2", null] };
    for (let i = 0; i < 2000; i++) v = i % 2 ? [v, i] : { i, v };
    expect(stringifyDeep(v)).toBe(JSON.stringify(v));
  });
});
