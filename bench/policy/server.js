// The server of the policy measurement (not part of `npm run bench`):
// `node --expose-gc bench/policy/server.js <variant> [dist dir]`, started by
// bench/policy/run.js pinned to core 0, answering the same IPC commands as
// bench/server.js (lib/server-ipc.js). The application is bench/server.js's
// echo handler; only the variant's options differ:
//   off      no limits, no schema (what every socket.io app gets)
//   limits   every per-connection and admission limit set, all too generous
//            to refuse anything: the cost of checking them on each event
//   zod      socket.on("echo", <zod schema of the payload>, handler)
//   valibot  the same schema in valibot
// With a dist directory (e.g. another checkout's build), that tidewire is
// measured instead, in the variant "off" only (it may not have the others).
import http from "node:http";
import { pathToFileURL } from "node:url";
import * as v from "valibot";
import { z } from "zod";
import { requireHarness, serveHarness } from "../lib/server-ipc.js";

const [variant, dist] = process.argv.slice(2);
const VARIANTS = ["off", "limits", "zod", "valibot"];
if (!VARIANTS.includes(variant) || (dist && variant !== "off")) {
  console.error(`usage: node --expose-gc bench/policy/server.js <${VARIANTS.join("|")}> [dist dir, with off only]`);
  process.exit(2);
}
requireHarness("bench/policy/server.js");

const entry = dist ? pathToFileURL(`${dist}/index.js`).href : new URL("../../dist/index.js", import.meta.url).href;
const { Server } = await import(entry);

const GENEROUS = { rate: 1e9, burst: 1e9 };
const options =
  variant === "limits"
    ? {
        limits: {
          events: GENEROUS,
          perEvent: { echo: GENEROUS },
          eventsPerAddress: GENEROUS,
          bytes: GENEROUS,
          connectionsPerAddress: 1e6,
          handshakesPerAddress: GENEROUS,
          handshakes: GENEROUS,
          maxEventLoopDelayMs: 10_000,
        },
      }
    : {};

// The echo payload of bench/load/scenarios/echo-ack.js: { user, text, n }.
const SCHEMAS = {
  zod: z.object({ user: z.string().max(100), text: z.string().max(500), n: z.number().int() }),
  valibot: v.object({ user: v.pipe(v.string(), v.maxLength(100)), text: v.pipe(v.string(), v.maxLength(500)), n: v.pipe(v.number(), v.integer()) }),
};

const httpServer = http.createServer();
const io = new Server(httpServer, options);
const schema = SCHEMAS[variant];
io.on("connection", (socket) => {
  if (schema) socket.on("echo", schema, (data, ack) => ack(data));
  else socket.on("echo", (data, ack) => ack(data));
});

httpServer.listen(0, "127.0.0.1", () => {
  serveHarness(httpServer, async () => ({ engineClients: io.engine?.clientsCount, sockets: io.of("/").sockets.size }));
});
