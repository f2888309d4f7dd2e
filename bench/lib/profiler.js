// CPU profile of the measured window only (`npm run bench -- --profile`):
// the V8 sampling profiler is started at `mark` and stopped at `end` through
// the inspector API, and written as a .cpuprofile that Chrome DevTools or
// bench/profile-summary.js can read.
import { Session } from "node:inspector/promises";
import { writeFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";

/** Sampling interval in µs (V8's default is 1000). */
const SAMPLING_INTERVAL_US = 200;

export class WindowProfiler {
  /** @type {Session | null} */
  #session = null;
  /** @type {string | null} */
  #path = null;

  /** @param {string} path where the profile goes once stopped */
  async start(path) {
    this.#session = new Session();
    this.#session.connect();
    await this.#session.post("Profiler.enable");
    await this.#session.post("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_US });
    await this.#session.post("Profiler.start");
    this.#path = path;
  }

  /** Stops and writes the profile; returns its path, or null if none was running. */
  async stop() {
    if (this.#session === null) return null;
    const { profile } = await this.#session.post("Profiler.stop");
    this.#session.disconnect();
    this.#session = null;
    await mkdir(dirname(this.#path), { recursive: true });
    await writeFile(this.#path, JSON.stringify(profile));
    return this.#path;
  }
}
