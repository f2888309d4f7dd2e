/**
 * Test clusters: server nodes as child processes (test/adapters/redis/
 * fixtures/node.ts, bundled with esbuild so the children run tidewire's
 * sources), private redis-server instances, official socket.io-client
 * clients, raw Redis clients, and one teardown list for afterEach.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { build } from "esbuild";
import { io as ioClient, type Socket as ClientSocket } from "socket.io-client";

const require = createRequire(import.meta.url);
const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
/** With TEST_AGAINST=socket.io every node runs the reference stack, to check the expectations themselves. */
export const againstReference = process.env.TEST_AGAINST === "socket.io";

/** node-redis v5 (`redis`), v4 (`redis4`) and v6 (`redis6`, what `npm i redis` installs today), and ioredis. */
export type ClientKind = "redis5" | "redis4" | "redis6" | "ioredis";
export const CLIENT_KINDS: readonly ClientKind[] = ["redis5", "redis4", "redis6", "ioredis"];
/** A node's server and adapter: tidewire's, socket.io 4.8 with @socket.io/redis-adapter, or tidewire's Server with @socket.io/redis-adapter. */
export type Impl = "tidewire" | "socket.io" | "tidewire+redis-adapter";

// ---- teardown ---------------------------------------------------------------

const cleanups: Array<() => unknown> = [];

/** Registers a teardown step; `closeAll` runs them in reverse order. */
export function onClose(fn: () => unknown): void {
  cleanups.push(fn);
}

export async function closeAll(): Promise<void> {
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    await withTimeout(Promise.resolve().then(fn), 5000, "a teardown step").catch((err) => console.error(err));
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

/** Resolves with an event's arguments; rejects after `ms`. */
export function waitFor<T extends any[] = any[]>(emitter: { once(ev: string, fn: (...a: any[]) => void): unknown; off(ev: string, fn: (...a: any[]) => void): unknown }, event: string, ms = 3000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const listener = (...args: any[]) => {
      clearTimeout(timer);
      resolve(args as T);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out after ${ms} ms waiting for "${event}"`));
    }, ms);
    emitter.once(event, listener);
  });
}

/** A unique channel prefix, so parallel test files and tests never see each other. */
export function uniqueKey(): string {
  return `tw-test-${randomBytes(6).toString("hex")}`;
}

// ---- nodes ------------------------------------------------------------------

let bundle: Promise<string> | null = null;

/**
 * Bundles the node fixture once per test file (bare imports stay external,
 * resolved from the repo). The file is named after its content, so runs
 * share it and nothing piles up.
 */
function nodeScript(): Promise<string> {
  bundle ??= (async () => {
    const dir = `${repoRoot}node_modules/.cache/tidewire-redis-tests`;
    mkdirSync(dir, { recursive: true });
    const result = await build({
      entryPoints: [fileURLToPath(new URL("../fixtures/node.ts", import.meta.url))],
      outfile: `${dir}/node.mjs`,
      write: false,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      logLevel: "error",
    });
    const code = result.outputFiles[0].contents;
    const outfile = `${dir}/node-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mjs`;
    if (!existsSync(outfile)) {
      const tmp = `${outfile}.${process.pid}.tmp`;
      writeFileSync(tmp, code);
      renameSync(tmp, outfile);
    }
    return outfile;
  })();
  return bundle;
}

export interface NodeOptions {
  impl?: Impl;
  client?: ClientKind;
  key: string;
  redisUrl?: string;
  sharded?: boolean;
  /** Adapter options (JSON); `key` / `channelPrefix` are filled in from `key`. */
  adapterOpts?: Record<string, unknown>;
  name?: string;
  /** Extra environment, e.g. DEBUG. */
  env?: Record<string, string>;
}

export interface TestNode {
  name: string;
  impl: Impl;
  port: number;
  url: string;
  child: ChildProcess;
  /** Runs a fixture command; rejects with the node's error (carrying `responses` when present). */
  call<T = any>(cmd: string, args?: Record<string, unknown>, ms?: number): Promise<T>;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
}

export async function startNode(opts: NodeOptions): Promise<TestNode> {
  const impl: Impl = againstReference ? "socket.io" : (opts.impl ?? "tidewire");
  const script = await nodeScript();
  const name = opts.name ?? `${impl}-${randomBytes(2).toString("hex")}`;
  const adapterOpts = { ...(opts.adapterOpts ?? {}) };
  if (opts.sharded) adapterOpts.channelPrefix ??= opts.key;
  else adapterOpts.key ??= opts.key;
  const child = spawn(process.execPath, [script], {
    cwd: repoRoot,
    env: {
      ...process.env,
      IMPL: impl,
      REDIS_CLIENT: opts.client ?? "redis5",
      REDIS_URL: opts.redisUrl ?? REDIS_URL,
      ADAPTER: opts.sharded ? "sharded" : "classic",
      ADAPTER_OPTS: JSON.stringify(adapterOpts),
      NODE_NAME: name,
      ...(opts.env ?? {}),
    },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    serialization: "advanced",
  });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (output += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (output += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  onClose(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGCONT");
    child.kill("SIGTERM");
    await withTimeout(exited, 3000, `node ${name} to exit`).catch(() => {
      child.kill("SIGKILL");
      return exited;
    });
  });

  let nextId = 1;
  const pending = new Map<number, { resolve(v: any): void; reject(e: any): void }>();
  child.on("message", (msg: any) => {
    const p = pending.get(msg?.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(Object.assign(new Error(msg.error.message), msg.error));
    else p.resolve(msg.result);
  });
  exited.then(({ code, signal }) => {
    for (const p of pending.values()) p.reject(new Error(`node ${name} exited (${code ?? signal})`));
    pending.clear();
  });

  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      child.on("message", (msg: any) => msg?.type === "ready" && resolve(msg.port));
      exited.then(() => reject(new Error(`node ${name} exited before ready:\n${output}`)));
    }),
    10000,
    `node ${name} to be ready`,
  );
  return {
    name,
    impl,
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    call(cmd, args = {}, ms = 8000) {
      const id = nextId++;
      return withTimeout(
        new Promise((resolve, reject) => {
          if (!child.connected) return reject(new Error(`node ${name} is gone (${child.exitCode ?? child.signalCode}):\n${output}`));
          pending.set(id, { resolve, reject });
          child.send({ id, cmd, args }, (err) => {
            if (!err) return;
            pending.delete(id);
            reject(err);
          });
        }),
        ms,
        `${name}: ${cmd}`,
      );
    },
  };
}

/** Starts nodes in parallel. */
export function startNodes(specs: NodeOptions[]): Promise<TestNode[]> {
  return Promise.all(specs.map(startNode));
}

// ---- clients ----------------------------------------------------------------

export interface ClientOptions {
  nsp?: string;
  user?: string;
  rooms?: string[];
}

/** An official socket.io-client connected over WebSocket, closed at teardown. */
export async function connectClient(node: TestNode, opts: ClientOptions = {}): Promise<ClientSocket> {
  const socket = ioClient(node.url + (opts.nsp && opts.nsp !== "/" ? opts.nsp : ""), {
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
    auth: { user: opts.user ?? null, rooms: opts.rooms ?? [] },
  });
  onClose(() => socket.disconnect());
  await waitFor(socket, "connect", 5000);
  return socket;
}

/** Collects every event a client receives: `[event, ...args]`. */
export function record(socket: ClientSocket): Array<[string, ...any[]]> {
  const got: Array<[string, ...any[]]> = [];
  socket.onAny((event, ...args) => got.push([event, ...args]));
  return got;
}

/** Waits until `check()` is true, polling; fails after `ms` with `what`. */
export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- Redis --------------------------------------------------------------------

/** A raw node-redis v5 client (connected), closed at teardown. */
export async function rawRedis(url = REDIS_URL): Promise<any> {
  const { createClient } = require("redis");
  const client = createClient({ url });
  client.on("error", () => {});
  await client.connect();
  onClose(() => client.quit().catch(() => client.disconnect?.()));
  return client;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** Kills the server (SIGKILL: no goodbye to clients). */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Freezes it (SIGSTOP): connections stay open, nothing is answered until resume(). */
  pause(): void;
  resume(): void;
}

/** A redis-server of our own on a free port, without persistence; stopped at teardown. */
export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let proc: ChildProcess | null = null;
  let exited: Promise<unknown> = Promise.resolve();
  const start = async () => {
    const p = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    proc = p;
    exited = new Promise((r) => p.once("exit", r));
    let out = "";
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        p.stdout!.on("data", (d) => {
          out += d;
          if (out.includes("Ready to accept connections")) resolve();
        });
        p.once("exit", (code) => reject(new Error(`redis-server exited with ${code}:\n${out}`)));
      }),
      5000,
      "redis-server to start",
    );
  };
  const kill = async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGKILL");
      await exited;
    }
  };
  await start();
  onClose(async () => {
    proc?.kill("SIGCONT");
    await kill();
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    start,
    pause: () => proc?.kill("SIGSTOP"),
    resume: () => proc?.kill("SIGCONT"),
  };
}

export interface PrivateRedisCluster {
  /** `host:port` of every master. */
  nodes: string[];
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of our own: three masters on free ports, no replicas, no
 * persistence, slots assigned by `redis-cli --cluster create`. Not registered
 * for afterEach teardown: call stop() (in afterAll).
 */
export async function privateRedisCluster(): Promise<PrivateRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "tw-redis-cluster-"));
  const ports = [await freePort(), await freePort(), await freePort()];
  const procs: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      procs.map((p) =>
        p.exitCode !== null || p.signalCode !== null ? null : new Promise((r) => (p.once("exit", r), p.kill("SIGKILL"))),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(
      ports.map(async (port) => {
        const p = spawn(
          "redis-server",
          ["--port", String(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`,
            "--save", "", "--appendonly", "no", "--dir", dir],
          { stdio: ["ignore", "pipe", "pipe"] },
        );
        procs.push(p);
        let out = "";
        await withTimeout(
          new Promise<void>((resolve, reject) => {
            p.stdout!.on("data", (d) => {
              out += d;
              if (out.includes("Ready to accept connections")) resolve();
            });
            p.once("exit", (code) => reject(new Error(`redis-server exited with ${code}:\n${out}`)));
          }),
          5000,
          "cluster node to start",
        );
      }),
    );
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    const create = spawn("redis-cli", ["--cluster", "create", ...nodes, "--cluster-replicas", "0", "--cluster-yes"], { stdio: "ignore" });
    const code = await withTimeout(new Promise<number | null>((r) => create.once("exit", r)), 15000, "redis-cli --cluster create");
    if (code !== 0) throw new Error(`redis-cli --cluster create exited with ${code}`);
    // Every node must agree the cluster is usable before clients connect.
    const { createClient } = require("redis");
    for (const node of nodes) {
      const c = createClient({ url: `redis://${node}` });
      c.on("error", () => {});
      await c.connect();
      try {
        await until(async () => String(await c.sendCommand(["CLUSTER", "INFO"])).includes("cluster_state:ok"), 10000, `${node} cluster_state:ok`);
      } finally {
        await c.quit();
      }
    }
    return { nodes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
