/**
 * Cluster tests: fixture processes (bundled with esbuild so they run
 * tidewire's sources), a node:cluster primary with its workers or
 * standalone Redis nodes, a round-robin TCP proxy standing in for a load
 * balancer without sticky sessions, official socket.io-client clients, and
 * one teardown list.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { io as ioClient, type ManagerOptions, type Socket as ClientSocket, type SocketOptions } from "socket.io-client";
import { onClose, waitFor, withTimeout } from "../helpers/io.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

const bundles = new Map<string, Promise<string>>();

/** Bundles a fixture once per test file; the output is named after its content. */
function bundle(fixture: string): Promise<string> {
  let promise = bundles.get(fixture);
  if (!promise) {
    promise = (async () => {
      const dir = `${repoRoot}node_modules/.cache/tidewire-cluster-tests`;
      mkdirSync(dir, { recursive: true });
      const result = await build({
        entryPoints: [fileURLToPath(new URL(`./fixtures/${fixture}.ts`, import.meta.url))],
        write: false,
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        packages: "external",
        logLevel: "error",
      });
      const code = result.outputFiles[0].contents;
      const outfile = `${dir}/${fixture}-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mjs`;
      if (!existsSync(outfile)) {
        const tmp = `${outfile}.${process.pid}.tmp`;
        writeFileSync(tmp, code);
        renameSync(tmp, outfile);
      }
      return outfile;
    })();
    bundles.set(fixture, promise);
  }
  return promise;
}

export interface Proc {
  child: ChildProcess;
  port: number;
  output(): string;
  exited: Promise<unknown>;
  call<T = any>(cmd: string, args?: Record<string, unknown>, extra?: Record<string, unknown>, ms?: number): Promise<T>;
}

/** Spawns a fixture with an IPC channel and waits for its `{type: "ready", port}`. */
export async function spawnFixture(fixture: string, env: Record<string, string>, name = fixture): Promise<Proc> {
  const script = await bundle(fixture);
  const child = spawn(process.execPath, [script], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    serialization: "advanced",
  });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (output += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (output += c));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  onClose(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    await withTimeout(exited, 3000, `${name} to exit`).catch(() => {
      child.kill("SIGKILL");
      return exited;
    });
  });
  const pending = new Map<number, { resolve(v: any): void; reject(e: any): void }>();
  child.on("message", (msg: any) => {
    const p = pending.get(msg?.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`${name}: ${msg.error.message}`));
    else p.resolve(msg.result);
  });
  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      child.on("message", (msg: any) => msg?.type === "ready" && resolve(msg.port));
      exited.then(() => reject(new Error(`${name} exited before it was ready:\n${output}`)));
    }),
    15000,
    `${name} to be ready`,
  );
  let nextId = 1;
  return {
    child,
    port,
    exited,
    output: () => output,
    call(cmd, args = {}, extra = {}, ms = 8000) {
      const id = nextId++;
      return withTimeout(
        new Promise((resolve, reject) => {
          pending.set(id, { resolve, reject });
          child.send({ id, cmd, args, ...extra }, (err) => {
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

/** A node:cluster primary (fixtures/cluster-main.ts) with one worker per entry of `workers`. */
export async function startCluster(
  workers: Array<"tidewire" | "socket.io">,
  opts: {
    primary?: "tidewire" | "socket.io";
    serialization?: "advanced" | "json";
    tls?: boolean;
    /** Workers on tidewire/redis (key, url) instead of the cluster adapter; `machine` prefixes their names. */
    redis?: { key: string; url: string; machine: string };
    /** tidewire workers run tidewire/otel with the OpenTelemetry SDK (commands `spans`, `uid`). */
    tracing?: boolean;
  } = {},
) {
  const primary = await spawnFixture("cluster-main", {
    WORKERS: workers.join(","),
    PRIMARY: opts.primary ?? "tidewire",
    SERIALIZATION: opts.serialization ?? "default",
    TLS: opts.tls ? "1" : "",
    TRACING: opts.tracing ? "1" : "",
    ...(opts.redis ? { ADAPTER: "redis", KEY: opts.redis.key, REDIS_URL: opts.redis.url, MACHINE: opts.redis.machine } : {}),
  }, opts.redis?.machine ?? "primary");
  return {
    primary,
    port: primary.port,
    url: `${opts.tls ? "https" : "http"}://127.0.0.1:${primary.port}`,
    /** Runs a command in worker `worker`. */
    worker<T = any>(worker: number, cmd: string, args: Record<string, unknown> = {}): Promise<T> {
      return primary.call<T>(cmd, args, { worker });
    },
    kill(worker: number): Promise<unknown> {
      return primary.call("kill", { worker });
    },
  };
}

/** Standalone tidewire nodes on one Redis (fixtures/redis-node.ts). */
export function startRedisNodes(count: number, key: string, redisUrl: string): Promise<Proc[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => spawnFixture("redis-node", { KEY: key, REDIS_URL: redisUrl, NODE_NAME: `n${i}` }, `n${i}`)),
  );
}

/**
 * A TCP proxy on 127.0.0.1 sending each new connection to the next of
 * `ports` (no stickiness), as a load balancer with passive health checks
 * does: a backend that refuses a connection is skipped (the connection goes
 * to the next one) and left out for a second.
 */
export async function roundRobinProxy(ports: number[]): Promise<{ port: number; url: string; connections(): number }> {
  let next = 0;
  let count = 0;
  const downUntil = new Map<number, number>();
  const sockets = new Set<net.Socket>();
  const pick = (): number => {
    for (let i = 0; i < ports.length; i++) {
      const port = ports[next++ % ports.length];
      if ((downUntil.get(port) ?? 0) <= Date.now()) return port;
    }
    return ports[next++ % ports.length];
  };
  const server = net.createServer((client) => {
    count++;
    client.pause();
    sockets.add(client);
    client.on("error", () => client.destroy());
    client.on("close", () => sockets.delete(client));
    const connect = (attempt: number) => {
      const port = pick();
      const upstream = net.connect(port, "127.0.0.1");
      sockets.add(upstream);
      upstream.once("error", () => {
        upstream.destroy();
        sockets.delete(upstream);
        if (upstream.connecting || upstream.bytesRead + upstream.bytesWritten === 0) {
          downUntil.set(port, Date.now() + 1000);
          if (attempt + 1 < ports.length && !client.destroyed) return connect(attempt + 1);
        }
        client.destroy();
      });
      upstream.once("connect", () => {
        upstream.on("error", () => client.destroy());
        upstream.on("close", () => {
          sockets.delete(upstream);
          client.destroy();
        });
        client.on("close", () => upstream.destroy());
        client.pipe(upstream).pipe(client);
        client.resume();
      });
    };
    connect(0);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onClose(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const port = (server.address() as net.AddressInfo).port;
  return { port, url: `http://127.0.0.1:${port}`, connections: () => count };
}

export type ClientOpts = Partial<ManagerOptions & SocketOptions>;

/** What a test client saw: connection errors, disconnections, connections. */
export interface Tracked {
  socket: ClientSocket;
  errors: string[];
  disconnects: string[];
  connects: number;
}

/** An official client, closed at teardown, with its connection events counted. */
export function client(url: string, opts: ClientOpts = {}): Tracked {
  const socket = ioClient(url, { forceNew: true, reconnection: false, ...opts });
  const tracked: Tracked = { socket, errors: [], disconnects: [], connects: 0 };
  socket.on("connect", () => tracked.connects++);
  socket.on("connect_error", (err) => tracked.errors.push(err.message));
  socket.on("disconnect", (reason) => {
    if (reason !== "io client disconnect") tracked.disconnects.push(reason);
  });
  onClose(() => void socket.disconnect());
  return tracked;
}

/** Connects `count` clients (at most `parallel` handshakes at a time) and waits until all are connected. */
export async function connectClients(url: string, count: number, opts: ClientOpts = {}, parallel = 50): Promise<Tracked[]> {
  const all: Tracked[] = [];
  for (let i = 0; i < count; i += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - i) }, () => client(url, opts));
    await Promise.all(batch.map((t) => (t.socket.connected ? null : waitFor(t.socket, "connect", 10000))));
    all.push(...batch);
  }
  return all;
}

/** Waits until `check()` holds; fails after `ms` saying `what`. */
export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
