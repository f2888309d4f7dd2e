/** Every cross-node operation over Redis 7 sharded pub/sub (SPUBLISH/SSUBSCRIBE) between tidewire nodes, with each supported client. */
import { CLIENT_KINDS } from "./helpers/cluster.js";
import { T, crossNodeSuite } from "./helpers/scenarios.js";

crossNodeSuite(CLIENT_KINDS.map((client) => ({ name: `tidewire nodes, sharded, ${client}`, client, impls: [T, T, T], sharded: true })));
