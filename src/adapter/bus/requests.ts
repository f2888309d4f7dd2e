/**
 * Bookkeeping of requests to other nodes: requests waiting for a known
 * number of answers (a timeout settles them with the partial answers, a cap
 * limits how many wait at once), the callbacks of broadcasts with acks, and
 * a deadline for a single answer. A request waits either for a number of
 * answers (the transport counts nodes, e.g. Redis PUBSUB NUMSUB) or for the
 * answers of a set of nodes (membership by heartbeats): a node that leaves
 * then settles what waited only for it.
 */
import { ErrorCodes, TidewireError } from "../../core/errors.js";
import { timers, type TimerEntry } from "../../core/timers.js";

/** A request ran out of time before every node answered. */
export class RequestTimeoutError extends TidewireError {
  /** The answers that did arrive. */
  responses: unknown[];
  constructor(what: string, received: number, expected: number, timeout: number, responses: unknown[]) {
    super(
      ErrorCodes.ACK_TIMEOUT,
      `timeout reached while waiting for ${what} responses: only ${received} responses received out of ${expected} ` +
        `within ${timeout} ms. A node may be down or overloaded; the answers that arrived are in err.responses.`,
    );
    this.name = "RequestTimeoutError";
    this.responses = responses;
  }
}

interface Pending extends TimerEntry {
  type: number | undefined;
  expected: number;
  /** The nodes that still owe an answer, when waiting by node. */
  missing: Set<string> | null;
  answers: unknown[];
  onDone(answers: unknown[]): void;
  onFail(err: Error): void;
}

/**
 * Requests waiting for `expected` answers. Each settles exactly once: with
 * every answer, or with a RequestTimeoutError (carrying the partial answers)
 * after its timeout, or with the error given to `cancelAll`.
 */
export class RequestTable {
  readonly #pending = new Map<string, Pending>();
  readonly #limit: number;

  /** @param limit most requests pending at once; `open` refuses more. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#pending.size;
  }

  has(id: string): boolean {
    return this.#pending.has(id);
  }

  /**
   * Starts waiting. `what` names the operation in the timeout error.
   * Throws a TidewireError (LIMIT) when too many requests are pending.
   */
  open(
    id: string,
    init: {
      what: string;
      /** Free tag for the caller, returned by typeOf(). */
      type?: number;
      /** How many answers, or which nodes' answers, to wait for. */
      expected: number | Iterable<string>;
      timeout: number;
      onDone(answers: unknown[]): void;
      onFail(err: Error): void;
    },
  ): void {
    if (this.#pending.size >= this.#limit) {
      throw new TidewireError(
        ErrorCodes.LIMIT,
        `${init.what}: ${this.#pending.size} requests to other nodes are already waiting for answers (limit ${this.#limit}); ` +
          `retry later or raise the adapter's request limit.`,
      );
    }
    const missing = typeof init.expected === "number" ? null : new Set(init.expected);
    const pending: Pending = {
      type: init.type,
      expected: missing ? missing.size : (init.expected as number),
      missing,
      answers: [],
      onDone: init.onDone,
      onFail: init.onFail,
      onTimeout: () => {
        if (this.#pending.get(id) !== pending) return;
        this.#pending.delete(id);
        pending.onFail(new RequestTimeoutError(init.what, pending.answers.length, pending.expected, init.timeout, pending.answers));
      },
    };
    this.#pending.set(id, pending);
    timers.arm(pending, init.timeout);
  }

  /** The `type` a pending request was opened with. */
  typeOf(id: string): number | undefined {
    return this.#pending.get(id)?.type;
  }

  /** Settles a pending request with an error at once (e.g. its message could not be sent). */
  fail(id: string, err: Error): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    timers.disarm(pending);
    pending.onFail(err);
  }

  /**
   * Records the answer of node `from` (when waiting by node, answers of
   * nodes not waited for, or repeated, are ignored). Returns false when no
   * such request waits.
   */
  answer(id: string, answer: unknown, from?: string): boolean {
    const pending = this.#pending.get(id);
    if (!pending) return false;
    if (pending.missing) {
      if (from === undefined || !pending.missing.delete(from)) return true;
    }
    pending.answers.push(answer);
    if (pending.missing ? pending.missing.size === 0 : pending.answers.length >= pending.expected) this.#settle(id, pending);
    return true;
  }

  /** Node `uid` left: requests waiting by node stop waiting for it. */
  nodeGone(uid: string): void {
    for (const [id, pending] of [...this.#pending]) {
      if (pending.missing?.delete(uid) && pending.missing.size === 0) this.#settle(id, pending);
    }
  }

  #settle(id: string, pending: Pending): void {
    this.#pending.delete(id);
    timers.disarm(pending);
    pending.onDone(pending.answers);
  }

  /** Fails every pending request with `err`. */
  cancelAll(err: Error): void {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const pending of all) {
      timers.disarm(pending);
      pending.onFail(err);
    }
  }
}

/** Broadcasts with acks: the callbacks of a request, kept until its timeout. */
export class AckRequests {
  readonly #map = new Map<string, { clientCount(n: number): void; ack(arg: unknown): void } & TimerEntry>();

  has(id: string): boolean {
    return this.#map.has(id);
  }

  add(id: string, clientCount: (n: number) => void, ack: (arg: unknown) => void, timeout: number | undefined): void {
    // Whether every client answered is known only to the caller; the entry
    // simply lives as long as the caller waits.
    const entry = { clientCount, ack, onTimeout: () => this.#map.delete(id) };
    this.#map.set(id, entry);
    timers.arm(entry, timeout ?? 0);
  }

  clientCount(id: string, n: unknown): void {
    if (typeof n === "number" && Number.isInteger(n) && n >= 0) this.#map.get(id)?.clientCount(n);
  }

  ack(id: string, arg: unknown): void {
    this.#map.get(id)?.ack(arg);
  }

  clear(): void {
    for (const entry of this.#map.values()) timers.disarm(entry);
    this.#map.clear();
  }
}

/** `promise`, or a TidewireError (ACK_TIMEOUT) with `message` after `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TidewireError(ErrorCodes.ACK_TIMEOUT, message)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
