/**
 * examples/redis-cluster started the way its README says
 * (`node examples/redis-cluster/start.js`): three nodes on PORT_BASE..+2
 * sharing Redis; chat crosses nodes, "who" lists the whole cluster, the
 * page is served, and stopping the launcher stops every node.
 *
 * The example imports "tidewire" from dist/ (package self-reference), so
 * tidewire must be built (`npm test` builds it).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, expect, it } from "vitest";
import { io as ioClient } from "socket.io-client";
import { REDIS_URL, closeAll, onClose, waitFor, withTimeout } from "./helpers/cluster.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

afterEach(closeAll);

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** A base port with the two following ports free too. */
async function threeFreePorts(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    if ((await portFree(base)) && (await portFree(base + 1)) && (await portFree(base + 2))) return base;
  }
  throw new Error("no three consecutive free ports found");
}

it("runs three nodes with one command; messages and fetchSockets cross nodes; Ctrl-C stops them all", async () => {
  if (!existsSync(new URL("../../../dist/redis.js", import.meta.url))) {
    throw new Error('dist/redis.js is missing: the example imports "tidewire/redis" from dist/, run "npm run build" first');
  }
  const base = await threeFreePorts();
  const child = spawn(process.execPath, ["examples/redis-cluster/start.js"], {
    cwd: repoRoot,
    env: { ...process.env, PORT_BASE: String(base), REDIS_URL },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (output += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  onClose(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
  });

  await withTimeout(
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if ([1, 2, 3].every((i) => output.includes(`[node-${i}] listening on http://127.0.0.1:${base + i - 1}`))) resolve();
      };
      child.stdout!.on("data", check);
      exited.then((code) => reject(new Error(`start.js exited with ${code}:\n${output}`)));
    }),
    15000,
    `three nodes listening:\n${output}`,
  );

  const page = await fetch(`http://127.0.0.1:${base + 1}/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("One room, three nodes");

  const connect = async (port: number, nick: string) => {
    const socket = ioClient(`http://127.0.0.1:${port}`, { transports: ["websocket"], forceNew: true, reconnection: false, auth: { nick } });
    onClose(() => socket.disconnect());
    const [welcome] = await waitFor(socket, "welcome", 5000);
    return { socket, welcome };
  };
  const ann = await connect(base, "ann");
  const bob = await connect(base + 2, "bob");
  expect(ann.welcome).toEqual({ node: "node-1", nick: "ann" });
  expect(bob.welcome).toEqual({ node: "node-3", nick: "bob" });

  const heard = waitFor(bob.socket, "chat");
  expect(await ann.socket.emitWithAck("chat", "hello from node-1")).toEqual({ ok: true });
  expect((await heard)[0]).toEqual({ nick: "ann", node: "node-1", text: "hello from node-1" });

  const who = await bob.socket.emitWithAck("who");
  expect(who.ok).toBe(true);
  expect(who.people.map((p: any) => `${p.nick}@${p.node}`).sort()).toEqual(["ann@node-1", "bob@node-3"]);

  child.kill("SIGINT");
  expect(await withTimeout(exited, 8000, "start.js to stop after SIGINT")).toBe(0);
  // Its nodes are gone too: nobody listens on their ports any more.
  for (const port of [base, base + 1, base + 2]) expect(await portFree(port)).toBe(true);
});
