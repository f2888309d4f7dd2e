/** The adapter over each supported client of a standalone Redis: node-redis v4, v5, v6 (RESP3 by default) and ioredis. */
import { afterEach, describe, it } from "vitest";
import { closeAll, missingRequirement, type ClientKind } from "./helpers.js";
import { crossNodeAndRecovery } from "./scenario.js";

const missing = await missingRequirement();
afterEach(closeAll);

describe.skipIf(missing !== null)("Redis clients", () => {
  for (const client of ["redis4", "redis5", "redis6", "ioredis"] as ClientKind[]) {
    it(`${client}: broadcasts (binary too), counts nodes, fetches sockets, recovers A -> B`, () => crossNodeAndRecovery({ client }));
  }
  it("streamCount 3 and a second namespace: each namespace on its stream", () =>
    crossNodeAndRecovery({ client: "redis5", adapterOpts: { streamCount: 3 } }, "/admin"));
  it("onlyPlaintext: binary as JSON", () => crossNodeAndRecovery({ client: "ioredis", adapterOpts: { onlyPlaintext: true } }));
});
