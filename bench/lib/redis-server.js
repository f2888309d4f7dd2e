// A private, throwaway redis-server for multi-node scenarios: its own free
// port on 127.0.0.1, no persistence, pinned to one core. It never touches a
// Redis the machine may already run (6379). Killed with the runner's other
// children on exit, error or signal.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { trackProcess } from "./children.js";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ). */
const USER_HZ = 100;

/** A port free on 127.0.0.1 right now (the kernel picks it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP connection to the port answers PING with PONG. */
function ping(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let reply = "";
    socket.setEncoding("utf8");
    socket.once("error", reject);
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk;
      if (!reply.includes("\r\n")) return;
      socket.destroy();
      if (reply.startsWith("+PONG")) resolve();
      else reject(new Error(`redis-server answered PING with ${JSON.stringify(reply.trim())}`));
    });
  });
}

export class PrivateRedis {
  /** @type {import("node:child_process").ChildProcess} */
  proc;
  port;
  /** Resolves once the process has exited. */
  exited;

  /**
   * Starts redis-server and resolves once it answers PING.
   * @param {number} core CPU core to pin it to
   * @param {number} [readyTimeoutMs]
   */
  static async start(core, readyTimeoutMs = 10000) {
    const port = await freePort();
    const redis = new PrivateRedis(core, port);
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (redis.proc.exitCode !== null || redis.proc.signalCode !== null) {
        throw new Error(`redis-server exited at start (code ${redis.proc.exitCode}): ${redis.stderr.trim().slice(-300)}`);
      }
      try {
        await ping(port);
        return redis;
      } catch (err) {
        if (Date.now() > deadline) {
          await redis.stop();
          throw new Error(`redis-server on port ${port} not ready within ${readyTimeoutMs} ms: ${err?.message ?? err}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  constructor(core, port) {
    this.port = port;
    this.stderr = "";
    this.proc = spawn(
      "taskset",
      ["-c", String(core), "redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmpdir(), "--loglevel", "warning"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    this.proc.stderr.setEncoding("utf8");
    this.proc.stderr.on("data", (chunk) => {
      this.stderr = (this.stderr + chunk).slice(-4096);
    });
    this.proc.once("error", () => {});
    this.exited = new Promise((resolve) => this.proc.once("exit", () => resolve()));
    trackProcess(this.proc);
  }

  /** CPU seconds (user + system) the redis-server process has used so far; NaN where /proc is unavailable. */
  cpuSeconds() {
    try {
      // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the line.
      const stat = readFileSync(`/proc/${this.proc.pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
    } catch {
      return NaN;
    }
  }

  /** Kills redis-server (nothing to save) and resolves once it is gone. */
  async stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGKILL");
    await this.exited;
  }
}
