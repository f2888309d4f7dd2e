/**
 * The outbound queue and its slow-consumer rule (src/engine/outbound-queue.ts),
 * driven as a session drives it (packets queued, a flush per turn, the
 * transport taking the queue or not), against a plain model: a list of
 * writes, each with what the client has not drained of it yet.
 *
 * Rule: a packet is refused ("buffer overflow") when the writes before the
 * one under way, the large write aside, leave more than `max` undrained. A
 * write that takes that backlog past `max` becomes the large write. Checked
 * besides: the bound (undrained bytes never exceed `max` plus the two
 * largest writes), and that a client that drains never overflows.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OutboundQueue } from "../../src/engine/outbound-queue.js";
import type { Packet } from "../../src/engine/packet.js";
import type { Transport } from "../../src/engine/transports/transport.js";

/** A transport holding what it was sent until the "kernel" drains it, oldest first, in any amounts. */
class FakeTransport {
  writable = true;
  readonly pending: Array<{ left: number }> = [];
  #large: Array<{ left: number }> = [];

  get pendingBytes(): number {
    return this.pending.reduce((sum, p) => sum + p.left, 0);
  }

  get largePendingBytes(): number {
    return this.#large.reduce((sum, p) => sum + p.left, 0);
  }

  send(packets: Packet[], largeFrom: number, largeTo: number): void {
    const sent = packets.map((p) => ({ left: p.data === undefined ? 1 : p.data.length + 1 }));
    this.pending.push(...sent);
    if (largeFrom !== -1) this.#large = sent.slice(largeFrom, largeTo + 1);
  }

  drain(bytes: number): void {
    while (bytes > 0 && this.pending.length > 0) {
      const p = this.pending[0];
      const n = Math.min(p.left, bytes);
      p.left -= n;
      bytes -= n;
      if (p.left === 0) this.pending.shift();
    }
  }
}

interface Write {
  size: number;
  /** Bytes of it the client has not drained. */
  left: number;
  sent: boolean;
}

/** The rule, written plainly over the list of writes. */
class Model {
  readonly writes: Write[] = [];
  current: Write | null = null;
  large: Write | null = null;
  constructor(readonly max: number) {}

  backlog(): number {
    let sum = 0;
    for (const w of this.writes) if (w !== this.current && w !== this.large) sum += w.left;
    return sum;
  }

  undrained(): number {
    return this.writes.reduce((sum, w) => sum + w.left, 0);
  }

  /** Queues `size` bytes; false means "buffer overflow". */
  push(size: number): boolean {
    if (this.backlog() > this.max) return false;
    if (this.current === null) {
      this.current = { size: 0, left: 0, sent: false };
      this.writes.push(this.current);
    }
    this.current.size += size;
    this.current.left += size;
    return true;
  }

  /** A flush: the write under way ends; a writable transport takes every queued write. */
  flush(writable: boolean): void {
    const current = this.current;
    if (current !== null && this.backlog() + current.size > this.max) this.large = current;
    this.current = null;
    if (writable) for (const w of this.writes) w.sent = true;
  }

  drain(bytes: number): void {
    for (const w of this.writes) {
      if (!w.sent || bytes === 0) continue;
      const n = Math.min(w.left, bytes);
      w.left -= n;
      bytes -= n;
    }
  }
}

type Step =
  | { kind: "push"; size: number }
  | { kind: "flush" }
  | { kind: "drain"; bytes: number }
  | { kind: "writable"; value: boolean };

const MAX = 100;

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("push" as const),
      size: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 41, max: 400 })),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: "flush" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("drain" as const), bytes: fc.integer({ min: 0, max: 300 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("writable" as const), value: fc.boolean() }) },
);

function packet(size: number): Packet {
  return { type: "message", data: "x".repeat(size - 1) };
}

/**
 * Runs `steps` on the queue and the model side by side; returns whether a
 * packet was refused. With `admit`, packets are judged as the session
 * judges them (admit(), once per write) and the queue's state is compared
 * with the model's only at flushes, so that nothing else reads the backlog
 * in between.
 */
function run(steps: Step[], drainEverything = false, admit = false): boolean {
  const queue = new OutboundQueue();
  const transport = new FakeTransport();
  const t = transport as unknown as Transport;
  const model = new Model(MAX);
  const sizes: number[] = [];
  let overflowed = false;
  for (const s of steps) {
    switch (s.kind) {
      case "push": {
        const refused = admit ? queue.admit(t, MAX) !== -1 : queue.backlog(t) > MAX;
        const accepted = model.push(s.size);
        expect(refused).toBe(!accepted);
        // The session would close here; going on (without that packet) explores more states.
        if (refused) overflowed = true;
        else queue.push(packet(s.size), undefined);
        break;
      }
      case "flush": {
        if (model.current !== null) sizes.push(model.current.size);
        model.flush(transport.writable);
        if (queue.packets.length === 0) break;
        if (!transport.writable) {
          queue.hold(t, MAX);
          break;
        }
        const packets = queue.packets;
        queue.take(t, MAX);
        transport.send(packets, queue.largeFrom, queue.largeTo);
        break;
      }
      case "drain":
        transport.drain(drainEverything ? Infinity : s.bytes);
        model.drain(drainEverything ? Infinity : s.bytes);
        break;
      case "writable":
        transport.writable = s.value;
        break;
    }
    if (admit && s.kind !== "flush") continue;
    expect(queue.backlog(t)).toBe(model.backlog());
    expect(queue.bytes + transport.pendingBytes).toBe(model.undrained());
    // The bound: the limit plus two writes (the large one, and the one under way or before it).
    const top = [...sizes, model.current?.size ?? 0].sort((a, b) => b - a);
    expect(model.undrained()).toBeLessThanOrEqual(MAX + (top[0] ?? 0) + (top[1] ?? 0));
  }
  return overflowed;
}

describe("engine/outbound-queue: the slow-consumer rule", () => {
  it("matches the model for any sequence of packets, flushes, drains and transport states", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200, size: "max" }), (steps) => {
        run(steps);
      }),
      { numRuns: 500 },
    );
  });

  it("admit(), judging each write at its first packet, refuses exactly the packets the model refuses", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200, size: "max" }), (steps) => {
        run(steps, false, true);
      }),
      { numRuns: 500 },
    );
  });

  it("a client that drains whatever it is sent is never cut, whatever the sizes", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200, size: "max" }), (steps) => {
        // Drains happen (whole) after every flush that reached the transport.
        const withDrains = steps.flatMap((s): Step[] => (s.kind === "flush" ? [s, { kind: "drain", bytes: 0 }] : [s]));
        const alwaysWritable = withDrains.filter((s) => s.kind !== "writable");
        expect(run(alwaysWritable, true)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("one message of any size is admitted when nothing undrained waits before it; the next write is judged", () => {
    const queue = new OutboundQueue();
    const transport = new FakeTransport();
    const t = transport as unknown as Transport;
    const flush = (): void => {
      const packets = queue.packets;
      queue.take(t, MAX);
      transport.send(packets, queue.largeFrom, queue.largeTo);
    };
    queue.push(packet(10_000), undefined);
    expect(queue.backlog(t)).toBe(0);
    flush();
    expect([queue.largeFrom, queue.largeTo]).toEqual([0, 0]);
    // While it drains it does not count: a ping may follow it.
    expect(queue.backlog(t)).toBe(0);
    queue.push(packet(1), undefined);
    flush();
    expect(queue.largeFrom).toBe(-1);
    expect(queue.backlog(t)).toBe(1);
    transport.drain(10_001);
    expect(queue.backlog(t)).toBe(0);
    // A client that stops reading: writes pile up behind it up to the limit.
    queue.push(packet(60), undefined);
    flush();
    queue.push(packet(60), undefined);
    flush();
    expect(queue.backlog(t)).toBe(60);
    queue.push(packet(1), undefined);
    flush();
    expect(queue.backlog(t)).toBe(61);
    // This write takes the backlog past the limit: it is the large write now, and the previous
    // one counts again. The next packet finds 121 bytes undrained: "buffer overflow".
    queue.push(packet(40), undefined);
    flush();
    expect(queue.backlog(t)).toBe(121);
  });
});
