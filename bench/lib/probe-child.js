// The host probe's own process, pinned to the server's core by the runner and
// asked for a probe while no server runs a load: what it times is the host,
// not the state of a server's heap.
import { answerCommands } from "./commands.js";
import { hostProbe } from "./host-probe.js";

answerCommands({ probe: hostProbe });
process.send({ type: "ready", pid: process.pid });
