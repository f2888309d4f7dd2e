// Child processes of the benchmark: each pinned to one core with taskset,
// talking over IPC. Every child is registered so that it is killed when the
// runner exits, on success, on error or on a signal; children also exit by
// themselves when the IPC channel closes (see bench/server.js, load/worker.js).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** @type {Set<PinnedChild>} */
const live = new Set();
/** Other child processes (not node scripts), e.g. a private redis-server. */
const others = new Set();

/** Sends SIGKILL to every child still running (synchronous: usable in an exit handler). */
export function killAllChildren() {
  for (const child of live) child.proc.kill("SIGKILL");
  for (const proc of others) proc.kill("SIGKILL");
}

/**
 * Registers a child process to be killed with the others when the runner
 * exits; it is forgotten once it has exited.
 * @param {import("node:child_process").ChildProcess} proc
 */
export function trackProcess(proc) {
  others.add(proc);
  proc.once("exit", () => others.delete(proc));
}

process.on("exit", killAllChildren);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

export class PinnedChild {
  /** @type {import("node:child_process").ChildProcess} */
  proc;
  name;
  /** Resolves with the child's `ready` message. */
  ready;
  /** Resolves once the process has exited. */
  exited;
  #nextId = 1;
  /** @type {Map<number, { resolve: Function, reject: Function, timer: NodeJS.Timeout }>} */
  #pending = new Map();
  #exitError = null;

  /**
   * @param {string} name label for error messages
   * @param {number} core CPU core to pin to
   * @param {string} script path relative to bench/
   * @param {string[]} args
   * @param {{ nodeArgs?: string[], readyTimeoutMs?: number, raiseFileLimit?: boolean }} [options]
   *   raiseFileLimit: start the process with its soft limit on open files raised to the hard
   *   limit (`ulimit -n`), for processes holding many thousands of sockets
   */
  constructor(name, core, script, args, { nodeArgs = [], readyTimeoutMs = 15000, raiseFileLimit = false } = {}) {
    this.name = name;
    const path = fileURLToPath(new URL(`../${script}`, import.meta.url));
    const command = ["taskset", "-c", String(core), process.execPath, ...nodeArgs, path, ...args];
    // bash raises the limit, then exec keeps the pid: signals and IPC reach node itself
    const [file, ...argv] = raiseFileLimit ? ["bash", "-c", 'ulimit -n "$(ulimit -Hn)" && exec "$@"', "bench-child", ...command] : command;
    this.proc = spawn(file, argv, {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    live.add(this);
    this.exited = new Promise((resolve) => {
      this.proc.once("exit", (code, signal) => {
        live.delete(this);
        this.#exitError = new Error(`${name} exited (code ${code}, signal ${signal})`);
        for (const { reject, timer } of this.#pending.values()) {
          clearTimeout(timer);
          reject(this.#exitError);
        }
        this.#pending.clear();
        resolve();
      });
    });
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} not ready within ${readyTimeoutMs} ms`)), readyTimeoutMs);
      this.proc.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      this.exited.then(() => {
        clearTimeout(timer);
        reject(this.#exitError);
      });
      this.proc.on("message", (msg) => {
        if (msg?.type === "ready") {
          clearTimeout(timer);
          resolve(msg);
        } else if (typeof msg?.id === "number") {
          this.#settle(msg);
        }
      });
    });
    this.ready.catch(() => {});
  }

  /**
   * Sends a command and waits for its answer.
   * @param {string} cmd
   * @param {object} [args]
   * @param {number} [timeoutMs]
   */
  request(cmd, args = {}, timeoutMs = 30000) {
    if (this.#exitError) return Promise.reject(this.#exitError);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.name}: no answer to "${cmd}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.proc.send({ id, cmd, args });
    });
  }

  #settle(msg) {
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    this.#pending.delete(msg.id);
    clearTimeout(pending.timer);
    if (msg.error !== undefined) pending.reject(new Error(`${this.name}: ${msg.error}`));
    else pending.resolve(msg.result);
  }

  /**
   * Asks the process to exit (so that a --cpu-prof or inspector profile is
   * complete) and kills it if it is still there after `graceMs`.
   */
  async stop(graceMs = 3000) {
    if (!live.has(this)) return;
    try {
      this.proc.send({ id: 0, cmd: "exit" });
    } catch {
      // channel already closed: the kill below does it
    }
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Kills the process and resolves once it is gone. */
  async kill() {
    if (live.has(this)) this.proc.kill("SIGKILL");
    await this.exited;
  }
}

/** Pins the calling process (all its threads) to `core`. */
export async function pinSelf(core) {
  await new Promise((resolve, reject) => {
    const p = spawn("taskset", ["-a", "-p", "-c", String(core), String(process.pid)], { stdio: "ignore" });
    p.once("error", reject);
    p.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`taskset exited with ${code}`))));
  });
}
