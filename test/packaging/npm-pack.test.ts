/**
 * `npm pack` of a clean checkout gives a working package. The checkout is
 * what a clone would hold once the working tree is committed: git's tracked
 * and untracked-but-not-ignored files (so no dist/), with this repository's
 * node_modules linked in as `npm ci` would have filled it. `npm pack` must
 * build dist/ itself (the `prepare` script, which also runs for installs
 * from a git URL). The tarball is then installed, offline, into a new
 * project, where consumer.cjs loads every entry by require() and import()
 * and serves the official socket.io-client.
 */
import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, npm_config_update_notifier: "false" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The working tree as a fresh clone of it would be: tracked and untracked, not ignored, files. */
function cleanCheckout(target: string): void {
  const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root })
    .toString()
    .split("\0")
    .filter((file) => file !== "" && file !== "node_modules"); // node_modules: when it is a symlink (not ignored as a directory)
  for (const file of listed) {
    if (!existsSync(join(root, file))) continue; // deleted in the working tree
    mkdirSync(dirname(join(target, file)), { recursive: true });
    cpSync(join(root, file), join(target, file));
  }
  symlinkSync(join(root, "node_modules"), join(target, "node_modules"), "dir");
}

/**
 * A lockfile for a project depending on the tarball only, pinning tidewire's
 * dependencies to the versions this repository's lockfile installed (their
 * tarballs are in npm's cache since `npm ci`), so the install needs no network.
 */
function consumerLock(tarball: string): object {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
  const own = lock.packages[""];
  const packages: Record<string, object> = {
    "": { dependencies: { tidewire: `file:${tarball}`, "@opentelemetry/api": "*" } },
    "node_modules/tidewire": {
      version: own.version,
      resolved: `file:${tarball}`,
      license: own.license,
      dependencies: own.dependencies,
      peerDependencies: own.peerDependencies,
      peerDependenciesMeta: own.peerDependenciesMeta,
    },
  };
  /** Node's lookup of `name` from the package at lock path `from` ("" for the project). */
  const locate = (from: string, name: string): string => {
    for (let dir = from; ; dir = dir.includes("/node_modules/") ? dir.slice(0, dir.lastIndexOf("/node_modules/")) : "") {
      const path = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
      if (lock.packages[path]) return path;
      if (!dir) throw new Error(`package-lock.json has no ${name} reachable from ${from || "the root"}`);
    }
  };
  // The consumer also installs the optional peer tidewire/otel needs.
  const queue = [...Object.keys(own.dependencies), "@opentelemetry/api"].map((name) => locate("", name));
  while (queue.length > 0) {
    const path = queue.shift()!;
    if (packages[path]) continue;
    const { dev: _dev, devOptional: _devOptional, ...entry } = lock.packages[path];
    packages[path] = entry;
    for (const name of Object.keys(entry.dependencies ?? {})) queue.push(locate(path, name));
  }
  return { name: "consumer", lockfileVersion: 3, requires: true, packages };
}

describe("npm pack of a clean checkout", () => {
  let dir = "";
  let files: string[] = [];
  let consumer: Run = { code: null, stdout: "", stderr: "" };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tidewire-pack-"));
    const checkout = join(dir, "checkout");
    cleanCheckout(checkout);
    expect(existsSync(join(checkout, "dist"))).toBe(false);

    const packed = await run(npm, ["pack", "--pack-destination", dir, "--loglevel=error"], checkout, 150_000);
    if (packed.code !== 0) throw new Error(`npm pack failed:\n${packed.stdout}\n${packed.stderr}`);
    const tarball = join(dir, readdirSync(dir).find((name) => name.endsWith(".tgz"))!);
    files = execFileSync("tar", ["-tzf", tarball]).toString().split("\n").filter(Boolean);

    const app = join(dir, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, dependencies: { tidewire: `file:${tarball}`, "@opentelemetry/api": "*" } }));
    writeFileSync(join(app, "package-lock.json"), JSON.stringify(consumerLock(tarball), null, 2));
    const installed = await run(npm, ["ci", "--offline", "--no-audit", "--no-fund", "--loglevel=error"], app, 60_000);
    if (installed.code !== 0) throw new Error(`npm ci of the tarball failed:\n${installed.stdout}\n${installed.stderr}`);
    cpSync(fileURLToPath(new URL("./consumer.cjs", import.meta.url)), join(app, "consumer.cjs"));
    consumer = await run(process.execPath, ["consumer.cjs"], app, 20_000);
  }, 240_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("packs the built entries and their declarations, not the sources", { timeout: 5_000 }, () => {
    for (const file of [
      "package.json",
      "README.md",
      "LICENSE",
      "dist/index.js",
      "dist/cjs.cjs",
      "dist/redis.js",
      "dist/redis.cjs",
      "dist/stream.js",
      "dist/stream.cjs",
      "dist/metrics.js",
      "dist/metrics.cjs",
      "dist/metrics.d.ts",
      "dist/metrics.d.cts",
      "dist/otel.js",
      "dist/otel.cjs",
      "dist/otel.d.ts",
      "dist/otel.d.cts",
      "dist/cluster.js",
      "dist/cluster.cjs",
      "dist/index.d.ts",
      "dist/cjs.d.cts",
      "dist/redis.d.ts",
      "dist/redis.d.cts",
      "dist/stream.d.ts",
      "dist/stream.d.cts",
      "dist/cluster.d.ts",
      "dist/cluster.d.cts",
      "dist/types/package.json",
      "dist/types/index.d.ts",
    ]) {
      expect(files).toContain(`package/${file}`);
    }
    expect(files.filter((file) => /^package\/(src|test|scripts|node_modules)\//.test(file))).toEqual([]);
  });

  it("installs and serves the official client from require() and import()", { timeout: 5_000 }, () => {
    expect(consumer.stderr).toBe("");
    expect(consumer.code).toBe(0);
    expect(JSON.parse(consumer.stdout)).toEqual({
      viaRequire: "hi pack over websocket",
      viaImport: "hi pack over polling",
    });
  });
});
