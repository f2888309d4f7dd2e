/** One short cross-node scenario run per Redis client and deployment: broadcasts, node count, fetchSockets, recovery A -> B. */
import { expect } from "vitest";
import { balancer, makeClient, recordEvents, startNodes, uniqueKey, until, waitFor, type NodeOptions } from "./helpers.js";

const withoutOffset = (e: [string, ...unknown[]]) => (typeof e.at(-1) === "string" && /^\d+-\d+$/.test(e.at(-1) as string) ? e.slice(0, -1) : e);

export async function crossNodeAndRecovery(spec: Omit<NodeOptions, "key" | "name">, nsp = "/"): Promise<void> {
  const key = uniqueKey();
  const [a, b] = await startNodes([
    { ...spec, key, name: "A" },
    { ...spec, key, name: "B" },
  ]);
  let target = a.port;
  const lb = await balancer(() => target);
  const mover = makeClient(lb.url, { nsp, user: "mover", rooms: ["r"] });
  const stay = makeClient(b.url, { nsp, user: "stay", rooms: ["r"] });
  const got = recordEvents(mover, ["m"]);
  const got2 = recordEvents(stay, ["m"]);
  await Promise.all([waitFor(mover, "connect", 5000), waitFor(stay, "connect", 5000)]);
  expect(await a.call("serverCount", { nsp })).toBe(2);
  await a.call("emit", { nsp, rooms: ["r"], event: "m", args: ["from A", Buffer.from([1, 2, 3])] });
  await b.call("emit", { nsp, rooms: ["r"], event: "m", args: ["from B"] });
  await until(() => got.length === 2 && got2.length === 2, 4000, "broadcasts on both nodes");
  expect(got2.map(withoutOffset).map((e) => e[1]).sort()).toEqual(["from A", "from B"]);
  const binary = got.find((e) => e[1] === "from A")![2] as any;
  // With onlyPlaintext, binary travels as JSON (as the reference does): `{type: "Buffer", data}`.
  if (spec.adapterOpts?.onlyPlaintext) expect(binary).toEqual({ type: "Buffer", data: [1, 2, 3] });
  else expect([...new Uint8Array(binary)]).toEqual([1, 2, 3]);
  const remote = await a.call("fetchSockets", { nsp, rooms: ["r"] });
  expect(remote.map((s: any) => s.data.user).sort()).toEqual(["mover", "stay"]);

  target = 0;
  const disconnected = waitFor(mover, "disconnect", 5000);
  lb.drop();
  await disconnected;
  await b.call("emit", { nsp, rooms: ["r"], event: "m", args: ["missed"] });
  target = b.port;
  await waitFor(mover, "connect", 8000);
  expect(mover.recovered).toBe(true);
  await until(() => got.length === 3, 4000, "the missed packet");
  expect(withoutOffset(got[2])).toEqual(["m", "missed"]);
}
