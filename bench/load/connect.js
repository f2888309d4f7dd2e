// Opening many sessions with a bounded number of handshakes in flight, so the
// listen backlog never overflows (a dropped SYN costs a 1 s retransmit and
// would measure the kernel, not the server).
import { SioWsClient } from "./ws-client.js";
import { SioPollingClient } from "./polling-client.js";

/**
 * Runs `task(i)` for i in [0, count) with at most `concurrency` running.
 * Rejects on the first failure or when `timeoutMs` passes.
 * @template T
 * @param {number} count
 * @param {number} concurrency
 * @param {(i: number) => Promise<T>} task
 * @param {number} timeoutMs
 * @returns {Promise<T[]>}
 */
export function runBounded(count, concurrency, task, timeoutMs) {
  return new Promise((resolve, reject) => {
    const results = new Array(count);
    let next = 0;
    let done = 0;
    let failed = false;
    const timer = setTimeout(() => {
      failed = true;
      reject(new Error(`only ${done} of ${count} completed within ${timeoutMs} ms`));
    }, timeoutMs);
    if (count === 0) {
      clearTimeout(timer);
      return resolve(results);
    }
    const launch = () => {
      const i = next++;
      task(i).then(
        (value) => {
          if (failed) return;
          results[i] = value;
          if (++done === count) {
            clearTimeout(timer);
            resolve(results);
          } else if (next < count) {
            launch();
          }
        },
        (err) => {
          if (failed) return;
          failed = true;
          clearTimeout(timer);
          reject(err);
        },
      );
    };
    for (let k = 0; k < Math.min(concurrency, count); k++) launch();
  });
}

/**
 * Opens a direct WebSocket session and connects it to `/`.
 * @param {number} port
 * @param {(err: Error) => void} onLateError called for failures after the connection succeeded
 * @param {{ largeReads?: boolean, localAddress?: string }} [options] see SioWsClient
 * @returns {Promise<SioWsClient>}
 */
export function connectWs(port, onLateError, options = {}) {
  return new Promise((resolve, reject) => {
    const client = new SioWsClient({ port, ...options });
    client.onconnect = () => {
      client.onerror = onLateError;
      resolve(client);
    };
    client.onerror = reject;
    client.onclose = () => reject(new Error("closed before CONNECT"));
  });
}

/**
 * Polling handshake, CONNECT over polling, then the upgrade to WebSocket the
 * way the official client does it (probe, pause polling until the held GET
 * is released, `5`), proven by one acknowledged event over the WebSocket.
 * @param {number} port
 * @param {(err: Error) => void} onLateError
 * @returns {Promise<SioWsClient>}
 */
export async function connectPollingThenUpgrade(port, onLateError) {
  const polling = new SioPollingClient({ port });
  try {
    await polling.open();
  } catch (err) {
    polling.close();
    throw err;
  }
  return new Promise((resolve, reject) => {
    const fail = (err) => {
      polling.close();
      ws.close();
      reject(err);
    };
    polling.onerror = fail;
    const ws = new SioWsClient({ port, sid: polling.sid });
    ws.onerror = fail;
    ws.onclose = () => fail(new Error("WebSocket closed during the upgrade"));
    ws.onprobe = () => {
      polling.pause().then(() => {
        ws.completeUpgrade();
        polling.close();
        ws.send('421["echo",1]');
      });
    };
    ws.onack = (id) => {
      if (id !== 1) return fail(new Error(`unexpected ack id ${id}`));
      ws.onack = noop;
      ws.onclose = noop;
      ws.onerror = onLateError;
      resolve(ws);
    };
  });
}

function noop() {}
