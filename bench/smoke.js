// Smoke check with the official socket.io-client before anything is measured:
// default transports (polling, then upgrade to WebSocket) and WebSocket only;
// each connects, emits with an ack and gets its data back, JSON and binary.
import { io } from "socket.io-client";
import { deepStrictEqual } from "node:assert";

/** Whole-check bound. */
const SMOKE_TIMEOUT_MS = 10000;

/** Client transport settings per smoke mode. */
const MODES = {
  "polling+upgrade": ["polling", "websocket"],
  websocket: ["websocket"],
};

/**
 * @param {number} port server started with `bench/server.js <target> smoke`
 * @param {(keyof MODES)[]} [modes] which client setups to check
 * @returns {Promise<void>} rejects with what went wrong
 */
export async function smokeCheck(port, modes = ["polling+upgrade", "websocket"]) {
  const sockets = [];
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`smoke check not done within ${SMOKE_TIMEOUT_MS} ms`)), SMOKE_TIMEOUT_MS);
  });
  const check = async (transports) => {
    const socket = io(`http://127.0.0.1:${port}`, { transports, reconnection: false, forceNew: true });
    sockets.push(socket);
    await new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", (err) => reject(new Error(`${transports.join("+")}: connect_error: ${err.message}`)));
    });
    if (transports.length > 1 && socket.io.engine.transport.name !== "websocket") {
      await new Promise((resolve) => socket.io.engine.once("upgrade", resolve));
    }
    const data = { text: "smoke", n: 1, list: [1, "two", null] };
    deepStrictEqual(await socket.emitWithAck("echo", data), data, `${transports.join("+")}: echo ack differs`);
    const buf = Buffer.from([0, 1, 2, 250, 255]);
    const back = await socket.emitWithAck("bin", buf);
    deepStrictEqual(Buffer.from(back), buf, `${transports.join("+")}: binary ack differs`);
  };
  try {
    await Promise.race([Promise.all(modes.map((m) => check(MODES[m]))), timeout]);
  } finally {
    clearTimeout(timer);
    for (const s of sockets) s.disconnect();
  }
}
