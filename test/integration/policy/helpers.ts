/**
 * Helpers of the policy tests: a tidewire server (its own features: these
 * tests never run against socket.io), official clients from a chosen
 * loopback address, and a flooding client in a child process (so that its
 * CPU does not slow down this process, where the server and the canary run).
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Socket as ClientSocket } from "socket.io-client";
import { Server, type ServerOptions } from "../../../src/index.js";
import { connectClient, onClose, waitFor, withTimeout, type ClientOptions, type IoServerHandle, type TransportMode } from "../../helpers/io.js";
import { startTidewire } from "../../helpers/tidewire-server.js";

export interface PolicyServer extends Omit<IoServerHandle, "io"> {
  io: Server;
}

export const startServer = (opts: ServerOptions = {}): Promise<PolicyServer> => startTidewire(opts);

/** An official client over `mode`, connected from `localAddress` (WebSocket honours it; 127.0.0.x are all this host). */
export function connectFrom(h: PolicyServer, localAddress: string, opts: ClientOptions = {}, mode: TransportMode = "websocket"): Promise<ClientSocket> {
  return connectClient(h as unknown as IoServerHandle, mode, { localAddress, ...opts } as ClientOptions);
}

/** Emits with an ack and resolves with the ack's first argument. */
export function ask(client: ClientSocket, event: string, ...args: unknown[]): Promise<any> {
  return withTimeout(client.emitWithAck(event, ...args), 4000, `ack of "${event}"`);
}

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Round-trip times (ms) of `count` sequential emitWithAck("echo") calls. */
export async function echoLatencies(client: ClientSocket, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await ask(client, "echo", i);
    times.push(performance.now() - start);
  }
  return times;
}

const FLOODER = fileURLToPath(new URL("./fixtures/flooder.mjs", import.meta.url));

/** A child process whose official client emits `event` as fast as it can until killed; resolves once it floods. */
export async function startFlooder(url: string, event: string, payload: unknown): Promise<ChildProcess> {
  const child = fork(FLOODER, [url, event, JSON.stringify(payload)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  onClose(() => {
    child.kill("SIGKILL");
  });
  const [message] = await waitFor<[{ flooding?: boolean; error?: string }]>(child, "message", 8000);
  if (!message.flooding) throw new Error(`flooder failed: ${message.error}`);
  return child;
}
