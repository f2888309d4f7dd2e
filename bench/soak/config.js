// Shape of the soak's traffic, shared by the runner, the server and the load
// workers. The runner passes these to both sides so they agree.

export const DEFAULTS = Object.freeze({
  durationMs: 180_000,
  clients: 2000,
  workers: 4,
  /** Rooms; client g is in room g mod rooms for every connection it makes. */
  rooms: 8,
  /** Each room gets one broadcast every tickMs (rooms staggered over the period). */
  tickMs: 200,
  /** Each socket gets one direct message every directMs. */
  directMs: 1000,
  /** Mean interval between two acked emits of a connected client (uniform 0.5x..1.5x). */
  workMs: 1000,
  /** Life of one connection, uniform in [min, max], then a deliberate disconnect. */
  lifeMinMs: 20_000,
  lifeMaxMs: 40_000,
  /** Pause between a disconnect and the next connection, uniform in [0, max]. */
  pauseMaxMs: 1000,
  /** One client in pollingEvery uses the default transports (polling, then upgrade). */
  pollingEvery: 10,
  /** Server heap and RSS are sampled (after forced GC) this often. */
  sampleMs: 15_000,
});

/** Connections started per second during setup, all load workers together. */
export const SETUP_RATE = 400;

/** Server-side ack delay: every 4th ack waits up to this long (acks cross disconnects). */
export const SLOW_ACK_MAX_MS = 50;

/** Room name of room index r. */
export const roomName = (r) => `room-${r}`;
