// A private, throwaway redis-server for multi-node scenarios: its own free
// port on 127.0.0.1, no persistence, pinned to one core. It never touches a
// Redis the machine may already run (6379). Killed with the runner's other
// children on exit, error or signal.
import { spawn } from "node:child_process";
import net from "node:net";
import { tmpdir } from "node:os";
import { trackProcess } from "./children.js";

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

/** Sends one inline command and resolves with its bulk-string reply (INFO). */
function command(port, line, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let reply = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(new Error(`redis-server did not answer ${line} within ${timeoutMs} ms`)), timeoutMs);
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once("connect", () => socket.write(`${line}\r\n`));
    socket.on("data", (chunk) => {
      reply = Buffer.concat([reply, chunk]);
      // "$<length>\r\n<body>\r\n"
      const header = reply.indexOf("\r\n");
      if (header < 0) return;
      if (reply[0] !== 0x24) {
        clearTimeout(timer);
        socket.destroy();
        return reject(new Error(`redis-server answered ${line} with ${JSON.stringify(reply.toString().trim())}`));
      }
      const length = Number(reply.subarray(1, header).toString());
      if (reply.length < header + 2 + length) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(reply.subarray(header + 2, header + 2 + length).toString());
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

  /**
   * CPU seconds (user + system, all threads) the redis-server process has
   * used so far, as Redis reports them in `INFO cpu` (from getrusage, to the
   * microsecond; /proc's 10 ms ticks read 0 over a short window). NaN if
   * Redis does not answer.
   * @returns {Promise<number>}
   */
  async cpuSeconds() {
    try {
      const info = await command(this.port, "INFO cpu");
      const field = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1]);
      return field("used_cpu_user") + field("used_cpu_sys");
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
