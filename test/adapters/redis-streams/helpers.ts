/**
 * redis-streams test clusters: server nodes as child processes (fixtures/
 * node.ts bundled with esbuild, so children run tidewire's sources), a TCP
 * balancer in front of them (drops connections and switches its target, as
 * a load balancer does when a node fails or a network drops), official
 * socket.io-client clients. Teardown and Redis helpers come from the redis
 * tests' helpers.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import net, { type AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { io as ioClient, type Socket as ClientSocket } from "socket.io-client";
import { onClose, withTimeout } from "../redis/helpers/cluster.js";

export { closeAll, onClose, privateRedis, privateRedisCluster, rawRedis, REDIS_URL, uniqueKey, until, waitFor, withTimeout } from "../redis/helpers/cluster.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

export type Impl = "tidewire" | "socket.io";
export type ClientKind = "redis5" | "redis4" | "redis6" | "ioredis";

let bundle: Promise<string> | null = null;

function nodeScript(): Promise<string> {
  bundle ??= (async () => {
    const dir = `${repoRoot}node_modules/.cache/tidewire-redis-streams-tests`;
    mkdirSync(dir, { recursive: true });
    const result = await build({
      entryPoints: [fileURLToPath(new URL("./fixtures/node.ts", import.meta.url))],
      write: false,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      logLevel: "error",
      outfile: `${dir}/node.mjs`,
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
  /** Unique per test: stream name, channel prefix and session key prefix derive from it. */
  key: string;
  redisUrl?: string;
  env?: Record<string, string>;
  adapterOpts?: Record<string, unknown>;
  recoveryMs?: number;
  name?: string;
}

export interface TestNode {
  name: string;
  impl: Impl;
  port: number;
  url: string;
  child: ChildProcess;
  call<T = any>(cmd: string, args?: Record<string, unknown>, ms?: number): Promise<T>;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** The adapter options every node of a test shares (so they form one cluster, apart from other tests). */
export function clusterOpts(key: string): Record<string, unknown> {
  return { streamName: `${key}-stream`, channelPrefix: key, sessionKeyPrefix: `${key}:session:` };
}

export async function startNode(opts: NodeOptions): Promise<TestNode> {
  const impl = opts.impl ?? "tidewire";
  const script = await nodeScript();
  const name = opts.name ?? `${impl}-${randomBytes(2).toString("hex")}`;
  const child = spawn(process.execPath, [script], {
    cwd: repoRoot,
    env: {
      ...process.env,
      IMPL: impl,
      REDIS_CLIENT: opts.client ?? (impl === "socket.io" ? "ioredis" : "redis5"),
      REDIS_URL: opts.redisUrl ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
      ADAPTER_OPTS: JSON.stringify({ ...clusterOpts(opts.key), ...(opts.adapterOpts ?? {}) }),
      RECOVERY_MS: String(opts.recoveryMs ?? 60000),
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
  const kill = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await withTimeout(exited, 3000, `node ${name} to exit`).catch(() => {
      child.kill("SIGKILL");
      return exited;
    });
  };
  onClose(() => kill());
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
    15000,
    `node ${name} to be ready`,
  );
  if (impl === "socket.io") {
    // The reference adapter starts reading its stream (from "$") after connecting a
    // duplicate client, and says nothing when it does: give it that moment.
    await new Promise((r) => setTimeout(r, 400));
  }
  return {
    name,
    impl,
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    exited,
    kill,
    call(cmd, args = {}, ms = 10000) {
      const id = nextId++;
      return withTimeout(
        new Promise((resolve, reject) => {
          if (!child.connected) return reject(new Error(`node ${name} is gone:\n${output}`));
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

export function startNodes(specs: NodeOptions[]): Promise<TestNode[]> {
  return Promise.all(specs.map(startNode));
}

/**
 * A TCP balancer on 127.0.0.1: each new connection goes to `target()`;
 * `drop()` cuts every open connection (a network failure: no close frame, no
 * goodbye), after which clients reconnect through it to whatever the target
 * then is.
 */
export interface Balancer {
  url: string;
  target: () => number;
  drop(): void;
  /** Connections currently open, by backend port. */
  open(): Map<number, number>;
}

export async function balancer(target: () => number): Promise<Balancer> {
  const conns = new Set<{ front: net.Socket; back: net.Socket; port: number }>();
  const b: Balancer = {
    url: "",
    target,
    drop() {
      for (const c of conns) {
        c.front.destroy();
        c.back.destroy();
      }
      conns.clear();
    },
    open() {
      const m = new Map<number, number>();
      for (const c of conns) m.set(c.port, (m.get(c.port) ?? 0) + 1);
      return m;
    },
  };
  const server = net.createServer((front) => {
    const port = b.target();
    const back = net.connect(port, "127.0.0.1");
    const conn = { front, back, port };
    conns.add(conn);
    const end = () => {
      conns.delete(conn);
      front.destroy();
      back.destroy();
    };
    front.on("error", end).on("close", end);
    back.on("error", end).on("close", end);
    front.pipe(back);
    back.pipe(front);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  b.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  onClose(
    () =>
      new Promise<void>((r) => {
        b.drop();
        server.close(() => r());
      }),
  );
  return b;
}

export type Transports = "websocket" | "polling" | "upgrade";
export const TRANSPORTS: Transports[] = ["websocket", "polling", "upgrade"];

export interface ClientOptions {
  nsp?: string;
  user?: string;
  rooms?: string[];
  transports?: Transports;
}

/** An official socket.io-client that reconnects quickly (recovery is the point), closed at teardown. */
export function makeClient(url: string, opts: ClientOptions = {}): ClientSocket {
  const t = opts.transports ?? "websocket";
  const socket = ioClient(url + (opts.nsp && opts.nsp !== "/" ? opts.nsp : ""), {
    transports: t === "websocket" ? ["websocket"] : t === "polling" ? ["polling"] : ["polling", "websocket"],
    upgrade: t === "upgrade",
    forceNew: true,
    reconnectionDelay: 50,
    reconnectionDelayMax: 300,
    randomizationFactor: 0,
    auth: { user: opts.user ?? null, rooms: opts.rooms ?? [] },
  });
  onClose(() => socket.disconnect());
  return socket;
}

/** Events a client received, in order: `[event, ...args]` (offsets stripped: they differ per run). */
export function recordEvents(socket: ClientSocket, events: string[]): Array<[string, ...unknown[]]> {
  const got: Array<[string, ...unknown[]]> = [];
  socket.onAny((event, ...args) => {
    if (events.includes(event)) got.push([event, ...args]);
  });
  return got;
}

// ---- what the tests need from the machine ------------------------------------

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "").split(":").some((dir) => dir !== "" && existsSync(`${dir}/${cmd}`));
}

/** Whether Redis answers at REDIS_URL (tried once per file). */
async function redisAnswers(): Promise<boolean> {
  const url = new URL(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  return new Promise((resolve) => {
    const s = net.connect(Number(url.port || 6379), url.hostname, () => s.write("PING\r\n"));
    s.setTimeout(1000, () => (s.destroy(), resolve(false)));
    s.once("data", (d) => (s.destroy(), resolve(d.toString().startsWith("+PONG"))));
    s.once("error", () => resolve(false));
  });
}

/**
 * Why this file cannot run here, or null. Locally a missing Redis (or
 * redis-server, when the file starts its own) skips loudly; with CI=true it fails.
 */
export async function missingRequirement(needs: { redisServer?: boolean } = {}): Promise<string | null> {
  let missing: string | null = null;
  if (!(await redisAnswers())) missing = `no Redis answers at ${process.env.REDIS_URL ?? "redis://127.0.0.1:6379"}`;
  else if (needs.redisServer && !(onPath("redis-server") && onPath("redis-cli"))) missing = "redis-server / redis-cli are not on PATH";
  if (missing && process.env.CI === "true") throw new Error(`${missing}: the redis-streams tests need it (CI=true)`);
  if (missing) console.warn(`\n*** SKIPPING redis-streams tests: ${missing} ***\n`);
  return missing;
}
