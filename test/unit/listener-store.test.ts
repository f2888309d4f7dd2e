/**
 * The light listener store behaves as Node's own for every EventEmitter
 * method, including event names that exist on Object.prototype.
 */
import { EventEmitter } from "node:events";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hasListeners, useLightListenerStore } from "../../src/core/listener-store.js";

function emitter(): EventEmitter {
  const e = new EventEmitter();
  useLightListenerStore(e);
  return e;
}

describe("useLightListenerStore", () => {
  it("inherits nothing: 'toString', '__proto__', 'constructor', 'hasOwnProperty' are ordinary events", () => {
    const e = emitter();
    for (const name of ["toString", "__proto__", "constructor", "hasOwnProperty", "newListener"]) {
      expect(e.listenerCount(name)).toBe(0);
      expect(e.emit(name)).toBe(false);
    }
    const seen: string[] = [];
    e.on("__proto__", () => seen.push("proto"));
    e.on("toString", (v: string) => seen.push(`toString ${v}`));
    expect(e.emit("__proto__")).toBe(true);
    e.emit("toString", "x");
    expect(seen).toEqual(["proto", "toString x"]);
    expect(e.eventNames()).toEqual(["__proto__", "toString"]);
  });

  it("on, once, prepend, off, listeners, rawListeners, symbols and removeAllListeners work as with Node's store", () => {
    const light = emitter();
    const plain = new EventEmitter();
    for (const e of [light, plain]) {
      const log: string[] = [];
      const a = () => log.push("a");
      const b = () => log.push("b");
      const sym = Symbol("s");
      e.on("x", a);
      e.prependListener("x", b);
      e.once("x", () => log.push("once"));
      e.on(sym, () => log.push("sym"));
      e.emit("x");
      e.emit("x");
      e.emit(sym);
      e.off("x", a);
      e.emit("x");
      (e as any).__log = log;
      (e as any).__counts = [e.listenerCount("x"), e.listeners("x").length, e.rawListeners("x").length, e.eventNames().length];
      e.removeAllListeners("x");
      (e as any).__after = [e.listenerCount("x"), e.eventNames().length];
      e.removeAllListeners();
      e.on("y", a);
      e.emit("y");
    }
    expect((light as any).__log).toEqual((plain as any).__log);
    expect((light as any).__counts).toEqual((plain as any).__counts);
    expect((light as any).__after).toEqual((plain as any).__after);
  });

  it("the 'newListener' and 'removeListener' events still fire", () => {
    const e = emitter();
    const added: Array<string | symbol> = [];
    const removed: Array<string | symbol> = [];
    e.on("newListener", (name) => added.push(name));
    e.on("removeListener", (name) => removed.push(name));
    const f = () => {};
    e.on("data", f);
    e.off("data", f);
    expect(added).toEqual(["removeListener", "data"]);
    expect(removed).toEqual(["data"]);
  });
});

describe("hasListeners", () => {
  it("says what listenerCount(event) > 0 says, on either store, over any sequence of changes", () => {
    const names = ["data", "flush", "toString", "__proto__"];
    const op = fc.record({
      kind: fc.constantFrom("on", "once", "off", "emit", "removeAll", "removeAllOf"),
      name: fc.constantFrom(...names),
      listener: fc.integer({ min: 0, max: 2 }),
    });
    fc.assert(
      fc.property(fc.boolean(), fc.array(op, { maxLength: 40 }), (light, ops) => {
        const e = light ? emitter() : new EventEmitter();
        const listeners = [() => {}, () => {}, () => {}];
        for (const { kind, name, listener } of ops) {
          if (kind === "on") e.on(name, listeners[listener]);
          else if (kind === "once") e.once(name, listeners[listener]);
          else if (kind === "off") e.off(name, listeners[listener]);
          else if (kind === "emit") e.emit(name);
          else if (kind === "removeAll") e.removeAllListeners();
          else e.removeAllListeners(name);
          for (const n of names) expect(hasListeners(e, n)).toBe(e.listenerCount(n) > 0);
        }
      }),
      { numRuns: 300 },
    );
  });
});
