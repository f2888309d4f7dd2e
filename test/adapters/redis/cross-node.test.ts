/** Every cross-node operation over classic Redis pub/sub between tidewire nodes, with each supported client. */
import { CLIENT_KINDS } from "./helpers/cluster.js";
import { T, crossNodeSuite } from "./helpers/scenarios.js";

crossNodeSuite(CLIENT_KINDS.map((client) => ({ name: `tidewire nodes, classic, ${client}`, client, impls: [T, T, T], sharded: false })));
