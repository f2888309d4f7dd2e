// Target `raw`, the bare write-coalescing ws server: the least work a server
// can do for the WebSocket scenarios. It is the load generator's ceiling
// (`npm run bench -- --target raw` runs it everywhere it can), and the "bare
// ws" column of fanout-distinct and echo-ack (issue #18), which shows the gap
// between tidewire and a plain `ws` server. Not a product: WebSocket transport
// and the default namespace only, no middleware, no heartbeat timeout
// enforcement. It does what the issue says matters: each broadcast encoded and
// framed once, every connection's frames of one event-loop turn written with
// one writev (cork/uncork in a process.nextTick), no per-socket timers (one
// interval pings every connection).
//   node --expose-gc bench/calibrate/raw-server.js <scenario>
import http from "node:http";
import { performance } from "node:perf_hooks";
import { randomBytes } from "node:crypto";
import { WebSocketServer } from "ws";
import { requireHarness, serveHarness } from "../lib/server-ipc.js";

/** Heartbeat interval: socket.io's default, and 5 s in the scale scenario (as bench/server.js). */
const PING_INTERVAL_MS = process.argv[2] === "scale" ? 5000 : 25000;
const MAX_PAYLOAD = 1_000_000;
const MAX_BURST = 100;
/** Bytes a connection may have queued before it is dropped (slow reader). */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
const TICK_PAYLOAD = JSON.stringify({ kind: "tick", text: "hello room", ok: true });
const MAX_BLAST = 10_000;
const BLAST_TEXT = "fanout-distinct: a fresh object per broadcast, 60 characters";
/** Room every connection of the scale scenario joins. */
const SCALE_ROOM = "all";
const WS_PATH = "/socket.io/";

const [scenario] = process.argv.slice(2);
if (!scenario) {
  console.error("usage: node --expose-gc bench/calibrate/raw-server.js <scenario>");
  process.exit(2);
}
requireHarness("bench/calibrate/raw-server.js");

/** One unmasked, unfragmented WebSocket frame (server to client). */
function frame(payload, binary) {
  const data = typeof payload === "string" ? Buffer.from(payload) : payload;
  const n = data.length;
  const headerLength = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(headerLength + n);
  out[0] = 0x80 | (binary ? 0x02 : 0x01);
  if (n < 126) {
    out[1] = n;
  } else if (n < 65536) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(0, 2);
    out.writeUInt32BE(n, 6);
  }
  data.copy(out, headerLength);
  return out;
}

const PING_FRAME = frame("2", false);

class Conn {
  /** @type {import("node:net").Socket} */
  socket;
  ws;
  /** @type {Buffer[]} */
  queue = [];
  queued = 0;
  rooms = new Set();
  /** BINARY_EVENT header waiting for its attachment: the ack id. */
  binaryAckId = -1;

  constructor(ws) {
    this.ws = ws;
    this.socket = ws._socket; // ws exposes the net.Socket only as this field
  }
}

/** @type {Set<Conn>} */
const conns = new Set();
/** @type {Map<string, Set<Conn>>} */
const rooms = new Map();
/** @type {Set<Conn>} */
const dirty = new Set();
let flushScheduled = false;

function flush() {
  flushScheduled = false;
  for (const c of dirty) {
    const { socket, queue } = c;
    c.queue = [];
    c.queued = 0;
    if (socket.destroyed) continue;
    socket.cork();
    for (const b of queue) socket.write(b);
    socket.uncork();
  }
  dirty.clear();
}

/** Queues a ready-made frame for this turn's single write to `c`. */
function push(c, bytes) {
  c.queue.push(bytes);
  c.queued += bytes.length;
  if (c.queued + c.socket.writableLength > MAX_QUEUED_BYTES) return c.ws.terminate();
  dirty.add(c);
  if (!flushScheduled) {
    flushScheduled = true;
    process.nextTick(flush);
  }
}

function join(c, room) {
  let members = rooms.get(room);
  if (members === undefined) rooms.set(room, (members = new Set()));
  members.add(c);
  c.rooms.add(room);
}

function leave(c, room) {
  const members = rooms.get(room);
  if (members === undefined) return;
  members.delete(c);
  if (members.size === 0) rooms.delete(room);
  c.rooms.delete(room);
}

/** Sends the same frame to every member of `room` but `except`. */
function broadcast(room, bytes, except) {
  const members = rooms.get(room);
  if (members === undefined) return;
  for (const m of members) if (m !== except) push(m, bytes);
}

/** EVENT `42<id>[name,...args]`: the handlers bench/server.js registers, by name. */
function onEvent(c, text) {
  let i = 2;
  while (i < text.length && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
  const ackId = text.slice(2, i);
  const args = JSON.parse(text.slice(i));
  switch (args[0]) {
    case "echo":
      // ack with the same arguments: the JSON array minus the event name
      return push(c, frame(`43${ackId}[${text.slice(i + 8)}`, false));
    case "join":
      join(c, args[1]);
      return push(c, frame(`43${ackId}[]`, false));
    case "leave":
      leave(c, args[1]);
      return push(c, frame(`43${ackId}[]`, false));
    case "say":
      broadcast(args[1], frame(`42${JSON.stringify(["said", args[2]])}`, false), c);
      return push(c, frame(`43${ackId}[]`, false));
    case "burst": {
      const n = Math.min(args[2], MAX_BURST);
      for (let k = 0; k < n; k++) broadcast("fan", frame(`42["tick",${args[1] + k},${TICK_PAYLOAD}]`, false), null);
      return;
    }
    case "blast": {
      // fanout-distinct: a fresh object per broadcast, encoded and framed once
      const [, from, count, perTurn] = args;
      const total = Math.min(count, MAX_BLAST);
      const per = Math.max(1, Math.min(perTurn, MAX_BURST));
      let sent = 0;
      const turn = () => {
        const end = Math.min(sent + per, total);
        for (; sent < end; sent++) {
          broadcast("fan", frame(`42${JSON.stringify(["tick", { t: Date.now(), s: from + sent, d: BLAST_TEXT }])}`, false), null);
        }
        if (sent < total) setImmediate(turn);
      };
      return turn();
    }
    default:
      return c.ws.terminate();
  }
}

function onMessage(c, data, isBinary) {
  if (isBinary) {
    if (c.binaryAckId < 0) return c.ws.terminate();
    push(c, frame(`461-${c.binaryAckId}[{"_placeholder":true,"num":0}]`, false));
    push(c, frame(data, true));
    c.binaryAckId = -1;
    return;
  }
  const text = data.toString("utf8");
  if (text === "3") return; // pong
  if (text === "40") return push(c, frame(`40{"sid":"${randomBytes(15).toString("base64url")}"}`, false));
  if (text.startsWith("42")) return onEvent(c, text);
  if (text.startsWith("451-")) {
    // only `bin` with one attachment and an ack id, as binary-echo sends it
    const id = /^451-(\d+)\["bin",/.exec(text);
    if (id === null) return c.ws.terminate();
    c.binaryAckId = Number(id[1]);
    return;
  }
  c.ws.terminate();
}

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_PAYLOAD });
const httpServer = http.createServer((req, res) => {
  res.writeHead(400, { "Content-Type": "text/plain" }).end("the raw calibration server speaks WebSocket only");
});
httpServer.on("upgrade", (req, socket, head) => {
  const url = new URL(req.url, "http://127.0.0.1");
  if (url.pathname !== WS_PATH || url.searchParams.get("EIO") !== "4" || url.searchParams.get("transport") !== "websocket" || url.searchParams.has("sid")) {
    socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    const c = new Conn(ws);
    conns.add(c);
    ws.on("message", (data, isBinary) => onMessage(c, data, isBinary));
    ws.on("close", () => {
      conns.delete(c);
      dirty.delete(c);
      for (const room of [...c.rooms]) leave(c, room);
    });
    ws.on("error", () => ws.terminate());
    if (scenario === "scale") join(c, SCALE_ROOM);
    const sid = randomBytes(15).toString("base64url");
    push(c, frame(`0{"sid":"${sid}","upgrades":[],"pingInterval":${PING_INTERVAL_MS},"pingTimeout":20000,"maxPayload":${MAX_PAYLOAD}}`, false));
  });
});

// One interval for every connection's heartbeat; pongs are not checked.
setInterval(() => {
  for (const c of conns) push(c, PING_FRAME);
}, PING_INTERVAL_MS).unref();

function monotonicUs() {
  const [sec, ns] = process.hrtime();
  return sec * 1e6 + Math.round(ns / 1e3);
}

/** The scale scenario's one broadcast to every connection, measured as bench/server.js measures it. */
const COMMANDS = {
  scale: {
    broadcast({ seq }) {
      const cpu0 = process.cpuUsage();
      const w0 = performance.now();
      broadcast(SCALE_ROOM, frame(`42${JSON.stringify(["blast", { t: monotonicUs(), s: seq }])}`, false), null);
      return new Promise((resolve) =>
        setImmediate(() => {
          const cpu = process.cpuUsage(cpu0);
          resolve({ cpuUs: cpu.user + cpu.system, wallMs: performance.now() - w0, members: rooms.get(SCALE_ROOM)?.size ?? 0 });
        }),
      );
    },
  },
};

httpServer.listen(0, "127.0.0.1", () => {
  serveHarness(httpServer, () => ({ connections: conns.size, scenario }), COMMANDS[scenario]);
});
