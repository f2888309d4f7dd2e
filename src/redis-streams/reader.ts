/**
 * Reads the streams of one createAdapter() factory: one blocking connection
 * per stream (so streams never wait for each other), `XREAD COUNT readCount
 * BLOCK blockTimeInMs` from the last position, every entry handed to the
 * adapter of its namespace in stream order. Entries without `nsp` (position
 * markers) and malformed ones are skipped; a failed read is retried with a
 * capped backoff.
 *
 * Invariant: `position(stream)` is the id of the last entry handed over;
 * every entry up to it has been handed over, none after it. Recovery relies
 * on it (see adapter.ts).
 */
import { logger } from "../core/debug.js";
import type { RedisClient } from "../redis/client.js";
import { Commands, closeClient, compareIds, type StreamEntry } from "./commands.js";

const log = logger("redis-streams", "reader");

/** Receives the entries of one namespace. */
export type EntryHandler = (entry: StreamEntry) => void;

/** Fields of a position marker: the reference's reader skips entries without `nsp`, and so does ours. */
const MARKER = { uid: "tidewire", tw: "position" };
const BACKOFF_MIN = 50;
const BACKOFF_MAX = 2000;

class StreamLoop {
  readonly stream: string;
  readonly handlers = new Map<string, EntryHandler>();
  position = "";
  readonly ready: Promise<void>;
  #client: RedisClient | null = null;
  #closed = false;
  readonly #cmds: Commands;
  readonly #opts: { readCount: number; blockTimeInMs: number; maxLen: number };

  constructor(stream: string, cmds: Commands, opts: { readCount: number; blockTimeInMs: number; maxLen: number }) {
    this.stream = stream;
    this.#cmds = cmds;
    this.#opts = opts;
    this.ready = this.#start();
  }

  async #start(): Promise<void> {
    let backoff = BACKOFF_MIN;
    while (!this.#closed && this.position === "") {
      try {
        await this.#anchor();
        this.#client ??= await this.#cmds.duplicate();
      } catch (err) {
        log("starting to read %s failed (retrying): %s", this.stream, (err as Error)?.message ?? err);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, BACKOFF_MAX);
      }
    }
    if (!this.#closed) void this.#loop();
  }

  /**
   * Sets the position to the stream's last entry, adding a marker to an
   * empty stream so that every position is a real entry id. Also used when
   * the stream went back (Redis restarted without persistence).
   */
  async #anchor(): Promise<void> {
    const last = await this.#cmds.lastId(this.stream);
    if (last !== null && (this.position === "" || compareIds(last, this.position) >= 0)) {
      if (this.position === "") this.position = last;
      return;
    }
    const marker = await this.#cmds.xadd(this.stream, this.#opts.maxLen, MARKER);
    log("stream %s %s: position marker %s", this.stream, this.position === "" ? "is empty" : "went back (Redis restarted?)", marker);
    this.position = marker;
  }

  async #loop(): Promise<void> {
    const reads = new Commands(this.#client);
    let backoff = BACKOFF_MIN;
    let failed = false;
    while (!this.#closed) {
      let entries: StreamEntry[];
      try {
        if (failed) await this.#anchor();
        entries = await reads.xread(this.stream, this.position, this.#opts.readCount, this.#opts.blockTimeInMs);
        failed = false;
        backoff = BACKOFF_MIN;
      } catch (err) {
        if (this.#closed) return;
        log("reading %s failed (retrying in %d ms): %s", this.stream, backoff, (err as Error)?.message ?? err);
        failed = true;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, BACKOFF_MAX);
        continue;
      }
      for (const entry of entries) {
        if (this.#closed) return;
        const nsp = entry.fields.nsp;
        this.position = entry.id;
        if (nsp === undefined) continue;
        const handler = this.handlers.get(nsp);
        if (handler) handler(entry);
      }
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#client) closeClient(this.#client);
  }
}

export class StreamReader {
  readonly #loops = new Map<string, StreamLoop>();
  readonly #cmds: Commands;
  readonly #opts: { readCount: number; blockTimeInMs: number; maxLen: number };

  constructor(cmds: Commands, opts: { readCount: number; blockTimeInMs: number; maxLen: number }) {
    this.#cmds = cmds;
    this.#opts = opts;
  }

  /** Hands the entries of namespace `nsp` in `stream` to `handler`; resolves once the stream is read. */
  add(stream: string, nsp: string, handler: EntryHandler): Promise<void> {
    let loop = this.#loops.get(stream);
    if (!loop) {
      loop = new StreamLoop(stream, this.#cmds, this.#opts);
      this.#loops.set(stream, loop);
    }
    loop.handlers.set(nsp, handler);
    return loop.ready;
  }

  remove(stream: string, nsp: string): void {
    const loop = this.#loops.get(stream);
    if (!loop) return;
    loop.handlers.delete(nsp);
    if (loop.handlers.size === 0) {
      loop.close();
      this.#loops.delete(stream);
    }
  }

  /** The id of the last entry of `stream` handed over ("" before the first read). */
  position(stream: string): string {
    return this.#loops.get(stream)?.position ?? "";
  }

  close(): void {
    for (const loop of this.#loops.values()) loop.close();
    this.#loops.clear();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
