/**
 * node:diagnostics_channel channels, so that any APM can follow tidewire's
 * traffic with `diagnostics_channel.subscribe(name, fn)`:
 *
 *   tidewire:connection       a socket joined a namespace     ConnectionFact
 *   tidewire:disconnect       a socket left, with its cause     DisconnectFact
 *   tidewire:event            a client's event is dispatched    EventFact
 *   tidewire:broadcast        a broadcast goes to the adapter   BroadcastFact
 *   tidewire:adapter:request  a request to the other nodes      AdapterRequestFact
 *
 * Each message is the fact itself (facts.ts): read it, do not keep or
 * change it.
 *
 * Zero cost while nobody subscribes: this module subscribes a facts sink
 * only for the channels that have subscribers, so the publishing sites'
 * mask bits stay 0 otherwise. It learns of subscriptions by wrapping the
 * `subscribe` and `unsubscribe` methods of its own channel objects (own
 * properties of those five objects; `diagnostics_channel.subscribe(name)`
 * goes through them too, since a channel with a live reference is the one
 * object of its name). A channel that had subscribers before tidewire was
 * loaded is seen at load.
 */
import dc from "node:diagnostics_channel";
import { facts, type FactSink } from "./facts.js";

/** The channel names, by the fact kind published on each. */
export const DIAGNOSTICS_CHANNELS = {
  connection: "tidewire:connection",
  disconnect: "tidewire:disconnect",
  event: "tidewire:event",
  broadcast: "tidewire:broadcast",
  adapterRequest: "tidewire:adapter:request",
} as const;

type Kind = keyof typeof DIAGNOSTICS_CHANNELS;
const KINDS = Object.keys(DIAGNOSTICS_CHANNELS) as Kind[];

const channels = {} as Record<Kind, dc.Channel>;
let unsubscribe: (() => void) | null = null;
/** Which kinds the installed sink handles: the sink changes only when this does. */
let active = "";

/** Subscribes a facts sink with a handler for each channel that has subscribers, or none. */
function update(): void {
  const sink: FactSink = {};
  let key = "";
  for (const kind of KINDS) {
    const channel = channels[kind];
    if (!channel.hasSubscribers) continue;
    key += kind + ",";
    // Scoped kinds return nothing: a channel message marks the start of the work.
    (sink as Record<Kind, (fact: unknown) => void>)[kind] = (fact) => {
      if (channel.hasSubscribers) channel.publish(fact);
    };
  }
  if (key === active) return;
  active = key;
  unsubscribe?.();
  unsubscribe = key === "" ? null : facts.subscribe(sink);
}

/** Wraps a channel's subscription methods so that `update` runs after each. */
function watch(channel: dc.Channel): void {
  const target = channel as unknown as Record<string, unknown>;
  for (const method of ["subscribe", "unsubscribe"] as const) {
    const wrapper = function (this: unknown, ...args: unknown[]): unknown {
      // The prototype's method runs with the wrapper out of the way (it may call
      // this[method] again after switching the channel to its active prototype).
      delete target[method];
      try {
        return (channel[method] as (...a: unknown[]) => unknown).apply(channel, args);
      } finally {
        Object.defineProperty(target, method, { value: wrapper, writable: true, configurable: true, enumerable: false });
        update();
      }
    };
    Object.defineProperty(target, method, { value: wrapper, writable: true, configurable: true, enumerable: false });
  }
}

for (const kind of KINDS) {
  channels[kind] = dc.channel(DIAGNOSTICS_CHANNELS[kind]);
  watch(channels[kind]);
}
update();
