/**
 * A TCP relay between a browser page and a server on 127.0.0.1, to make the
 * network fail the way it does in real life: `drop()` cuts every open
 * connection (the server sees its side close, the browser gets a reset) and
 * refuses new ones until `restore()`; `retarget()` points it at a server that
 * came back on another port. The page keeps one address throughout.
 */
import net from "node:net";
import type { AddressInfo } from "node:net";

export class FlakyLink {
  #server = net.createServer((client) => this.#relay(client));
  #open = new Set<net.Socket>();
  #down = false;
  #target: number;
  port = 0;

  constructor(targetPort: number) {
    this.#target = targetPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  listen(): Promise<this> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(0, "127.0.0.1", () => {
        this.port = (this.#server.address() as AddressInfo).port;
        resolve(this);
      });
    });
  }

  #relay(client: net.Socket): void {
    if (this.#down) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.#target, "127.0.0.1");
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.#open.add(a);
      a.on("error", () => b.destroy());
      a.on("close", () => {
        this.#open.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  }

  /** The network goes away: open connections are cut, new ones refused. */
  drop(): void {
    this.#down = true;
    for (const socket of this.#open) socket.resetAndDestroy();
  }

  /** The network is back. */
  restore(): void {
    this.#down = false;
  }

  /** Relays new connections to another port (a restarted server). */
  retarget(port: number): void {
    this.#target = port;
  }

  close(): Promise<void> {
    this.drop();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
