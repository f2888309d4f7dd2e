/**
 * Session ids that name their node (core/ids.ts, core/routing.ts): 14
 * random base64url characters and a 6-character node tag, 20 in all as
 * socket.io's. Without a cluster adapter that forwards sessions the engine
 * keeps its plain ids.
 */
import { describe, expect, it } from "vitest";
import { generateId, generateTag, generateTaggedId } from "../../src/core/ids.js";
import { SESSION_ROUTER, isTag, sessionRouterOf, tagOf } from "../../src/core/routing.js";
import { Server as EngineServer } from "../../src/engine/index.js";

const BASE64URL = /^[A-Za-z0-9_-]+$/;

describe("node tags and tagged session ids", () => {
  it("tags are 6 base64url characters, all different in practice", () => {
    const tags = new Set(Array.from({ length: 2000 }, generateTag));
    expect(tags.size).toBe(2000);
    for (const tag of tags) expect(isTag(tag)).toBe(true);
    expect(isTag("abc")).toBe(false);
    expect(isTag("abcde=")).toBe(false);
    expect(isTag(42)).toBe(false);
  });

  it("a tagged id is 20 base64url characters ending with the tag, unique, its random part unbiased", () => {
    const tag = generateTag();
    const ids = Array.from({ length: 20_000 }, () => generateTaggedId(tag));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => id.length !== 20 || !BASE64URL.test(id) || tagOf(id) !== tag)).toEqual([]);
    const counts = new Map<string, number>();
    for (const id of ids) for (let i = 0; i < 14; i++) counts.set(id[i], (counts.get(id[i]) ?? 0) + 1);
    // 14 × 20,000 characters over 64 symbols: 4,375 each, give or take a few standard deviations (~65).
    expect(counts.size).toBe(64);
    expect([...counts.values()].filter((n) => Math.abs(n - 4375) > 400)).toEqual([]);
  });

  it("tagOf names a node only for 20-character ids", () => {
    expect(tagOf("x".repeat(14) + "abcdef")).toBe("abcdef");
    expect(tagOf("short")).toBeNull();
    expect(tagOf("x".repeat(21))).toBeNull();
    expect(generateId()).toHaveLength(20);
  });

  it("the engine tags its ids only once a router is set, and a custom generateId stays as it is", () => {
    const engine = new EngineServer();
    const router = { tag: "Tg_-09", bind() {}, unbind() {}, forwardRequest: () => false, forwardUpgrade: () => false };
    const req = {} as never;
    const plain = engine.generateId(req) as string;
    expect(plain).toHaveLength(20);
    engine.setRouter(router);
    for (let i = 0; i < 100; i++) expect((engine.generateId(req) as string).endsWith("Tg_-09")).toBe(true);
    engine.setRouter(null);
    expect((engine.generateId(req) as string).endsWith("Tg_-09")).toBe(false);
    engine.close();
  });

  it("an adapter offers its router under a registered symbol", () => {
    const router = { tag: "abcdef" };
    expect(sessionRouterOf({ [Symbol.for("tidewire.sessionRouter")]: router })).toBe(router);
    expect(SESSION_ROUTER).toBe(Symbol.for("tidewire.sessionRouter"));
    expect(sessionRouterOf({})).toBeNull();
    expect(sessionRouterOf(null)).toBeNull();
  });
});
