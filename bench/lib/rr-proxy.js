// A small round-robin TCP proxy on 127.0.0.1 for drain scenarios: it stands
// in for a load balancer in front of several nodes. Each backend has a
// readiness URL path; the proxy asks every backend every `checkMs` (HTTP GET
// on the backend's port) and sends new TCP connections only to backends that
// answered 200 the last time, in turn. Connections already open stay where
// they are (as with a real L4 balancer). Bounded: it only ever connects to
// the backends it was given, all on 127.0.0.1. A backend answering 503 is
// taken out at once; one that refuses connections, after 3 probes in a row;
// a slow answer changes nothing.
import http from "node:http";
import net from "node:net";

/**
 * @param {{ backends: Array<{ port: number, readyPath?: string }>, checkMs?: number }} opts
 */
export async function startProxy({ backends, checkMs = 50 }) {
  /** @type {Array<{ port: number, readyPath: string, ready: boolean, accepted: number }>} */
  let pool = [];
  let turn = 0;
  const open = new Set();
  let checking = false;
  let dropped = 0;

  const setBackends = (list) => {
    pool = list.map((b) => ({ port: b.port, readyPath: b.readyPath ?? "/ready", ready: true, failures: 0, accepted: 0, acceptedAt: [] }));
  };
  setBackends(backends);

  const probe = (backend) =>
    new Promise((resolve) => {
      const req = http.get({ host: "127.0.0.1", port: backend.port, path: backend.readyPath, agent: false, timeout: 3000 }, (res) => {
        res.resume();
        backend.ready = res.statusCode === 200;
        backend.failures = 0;
        resolve();
      });
      req.on("timeout", () => req.destroy(new Error("probe timeout")));
      // A backend that says 503 is out at once; one that refuses connections (gone) after 3
      // probes in a row. One that is merely slow to answer (a busy event loop) stays in.
      req.on("error", (err) => {
        if (err?.code === "ECONNREFUSED" && ++backend.failures >= 3) backend.ready = false;
        resolve();
      });
    });

  const check = async () => {
    if (checking) return;
    checking = true;
    try {
      await Promise.all(pool.map(probe));
    } finally {
      checking = false;
    }
  };
  const timer = setInterval(check, checkMs);
  timer.unref();

  const server = net.createServer((client) => {
    const ready = pool.filter((b) => b.ready);
    if (ready.length === 0) {
      dropped++;
      client.destroy();
      return;
    }
    const backend = ready[turn++ % ready.length];
    backend.accepted++;
    backend.acceptedAt.push(Date.now());
    const upstream = net.connect(backend.port, "127.0.0.1");
    open.add(client);
    open.add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", end);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  await check();

  return {
    port: server.address().port,
    /** Replaces the backends (new connections only). */
    setBackends,
    /** Asks every backend now. */
    check,
    /** TCP connections accepted per backend port. */
    accepted: () => Object.fromEntries(pool.map((b) => [b.port, b.accepted])),
    /** When each TCP connection to the backend on `port` was accepted (ms timestamps). */
    acceptedAt: (port) => pool.find((b) => b.port === port)?.acceptedAt ?? [],
    /** Connections dropped because no backend was ready. */
    dropped: () => dropped,
    close: () =>
      new Promise((resolve) => {
        clearInterval(timer);
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
