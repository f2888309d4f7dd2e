import { describe, it, expect } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, dirname } from "node:path";

/**
 * Layers import one way: core ← engine ← io, core ← adapter ← io,
 * adapter ← redis ← redis-streams, adapter ← cluster (adapter/bus is the
 * cluster core they use; redis-streams reuses redis's client layer and
 * codec, never io or engine); forward (session forwarding) sits between core
 * and the adapters, and the engine reaches it only through core/routing.ts;
 * observe (counters, causes, facts) sits on core and under every layer that
 * publishes facts; stream imports nothing of tidewire. Only the engine
 * imports ws (its server creates the ws handshake server, its WebSocket
 * transport uses the sockets).
 */
const SRC = resolve(__dirname, "../../src");
const ALLOWED: Record<string, string[]> = {
  core: ["core"],
  observe: ["core", "observe"],
  engine: ["core", "observe", "engine"],
  adapter: ["core", "observe", "adapter", "forward"],
  io: ["core", "observe", "engine", "adapter", "io"],
  forward: ["core", "forward"],
  // In a node:cluster worker, tidewire/redis forwards to the machine's other workers through cluster/.
  redis: ["core", "adapter", "forward", "cluster", "redis"],
  "redis-streams": ["core", "adapter", "forward", "cluster", "redis", "redis-streams"],
  cluster: ["core", "adapter", "forward", "cluster"],
  stream: ["stream"],
  ".": ["core", "observe", "engine", "adapter", "io", "."],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
}

function layerOf(path: string): string {
  const rel = relative(SRC, path);
  return rel.includes("/") ? rel.split("/")[0] : ".";
}

function imports(path: string): string[] {
  const text = readFileSync(path, "utf8");
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']/g)) found.push(m[1]);
  for (const m of text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)) found.push(m[1]);
  return found;
}

describe("layering", () => {
  const all = files(SRC);

  it("finds the sources", () => {
    expect(all.length).toBeGreaterThan(20);
  });

  it("every import flows one way between layers", () => {
    const violations: string[] = [];
    for (const file of all) {
      const layer = layerOf(file);
      const allowed = ALLOWED[layer];
      if (!allowed) {
        violations.push(`${relative(SRC, file)}: unknown layer "${layer}" (add it to ALLOWED)`);
        continue;
      }
      for (const spec of imports(file)) {
        if (!spec.startsWith(".")) continue;
        const target = layerOf(resolve(dirname(file), spec));
        if (!allowed.includes(target)) violations.push(`${relative(SRC, file)} imports ${spec} (${layer} → ${target})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it("only the engine's WebSocket code imports ws", () => {
    const users = all
      .filter((file) => imports(file).some((spec) => spec === "ws" || spec.startsWith("ws/")))
      .map((file) => relative(SRC, file));
    for (const user of users) expect(user.startsWith("engine/")).toBe(true);
  });
});
