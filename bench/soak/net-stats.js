// What the machine did to the soak, from /proc (Linux).
//
// Run-queue wait of a process: time it was runnable but another process had
// its core. The server is pinned to one core, so when other processes of the
// machine take that core it stops accepting and answering in time, and clients
// see connect timeouts and silences that are not the server's doing.
//
// Machine-wide loopback trouble during a run: packets the
// kernel dropped from a CPU's input backlog (softnet_stat; loopback traffic
// goes through it), SYNs dropped at full listen queues, TCP retransmission
// timeouts. Other processes' traffic is counted too: these say whether
// connect timeouts or silent connections may come from the machine, not the server.
import { readFileSync } from "node:fs";

function read(path) {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** Named counters of a /proc/net/{snmp,netstat} section ("TcpExt", "Tcp"). */
function section(text, name) {
  const lines = (text ?? "").split("\n").filter((l) => l.startsWith(`${name}:`));
  if (lines.length < 2) return {};
  const keys = lines[0].split(/\s+/).slice(1);
  const values = lines[1].split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(keys.map((k, i) => [k, values[i]]));
}

/** @returns {{ backlogDrops: number, listenDrops: number, tcpTimeouts: number, retransSegs: number } | null} */
export function sampleNet() {
  const softnet = read("/proc/net/softnet_stat");
  if (softnet === null) return null;
  // second column: packets dropped because the CPU's backlog was full (hex)
  const backlogDrops = softnet
    .trim()
    .split("\n")
    .reduce((n, line) => n + parseInt(line.trim().split(/\s+/)[1], 16), 0);
  const ext = section(read("/proc/net/netstat"), "TcpExt");
  const tcp = section(read("/proc/net/snmp"), "Tcp");
  return { backlogDrops, listenDrops: ext.ListenDrops ?? NaN, tcpTimeouts: ext.TCPTimeouts ?? NaN, retransSegs: tcp.RetransSegs ?? NaN };
}

/** Counter increments between two samples (null when unknown). */
export function netDelta(before, after) {
  if (!before || !after) return null;
  return Object.fromEntries(Object.keys(before).map((k) => [k, after[k] - before[k]]));
}

/**
 * Seconds `pid` has spent waiting on a run queue since it started (NaN when unknown).
 * @param {number} pid
 */
export function runQueueWaitSec(pid) {
  const text = read(`/proc/${pid}/schedstat`);
  if (text === null) return NaN;
  return Number(text.split(" ")[1]) / 1e9;
}
