/**
 * Where declared schemas are found (per namespace, or the server's `events`
 * option for every namespace), and what happens to an event its schema
 * refused: counted, its acknowledgement answered with
 * `{ error: "invalid_payload", event, issues }` (or
 * `{ error: "schema_error", event }` when the schema threw: the client is
 * not told why), and the namespace emits `validation_error`.
 */
import type { IoCounters } from "../../observe/counters.js";
import type { Socket } from "../socket.js";
import type { CompiledEvent } from "./events.js";
import type { Outcome, PayloadIssue } from "./validate.js";

/** What `validation_error` listeners receive. */
export interface ValidationErrorInfo {
  /** The socket that sent the event. */
  socket: Socket<any, any, any, any>;
  /** The event's name. */
  event: string;
  /** What the schema found wrong (empty when the schema itself failed). */
  issues: PayloadIssue[];
  /** Set when the schema threw or its Promise rejected: a bug on the server, not the client's fault. */
  error?: unknown;
}

/** The acknowledgement a validated handler gets when the client asked for none. */
export const NOOP_ACK = function noAcknowledgement(): void {};

const tables = new WeakMap<object, Map<string, CompiledEvent>>();
/** Whether any schemas were ever declared in this process: until then, no lookup per event. */
let declared = false;

/** Declares schemas for `owner` (a Namespace, or the Server for all its namespaces). */
export function setSchemas(owner: object, table: Map<string, CompiledEvent>): void {
  declared = true;
  tables.set(owner, table);
}

/** The declared schemas of namespace `nsp`: its own, else its server's. */
export function schemasOf(nsp: { server: object }): Map<string, CompiledEvent> | undefined {
  if (!declared) return undefined;
  return tables.get(nsp) ?? tables.get(nsp.server);
}

/** Schemas already reported as throwing with nobody listening to `validation_error` (one warning each). */
const warned = new WeakSet<object>();

/**
 * Counts an event its schema refused, answers its acknowledgement through
 * `answer`, and emits `validation_error` on the socket's namespace.
 */
export function reportRejected(
  socket: Socket<any, any, any, any>,
  event: string,
  outcome: Outcome,
  counters: IoCounters,
  answer: (reply: object) => void,
  schemaKey?: object,
): void {
  const failed = outcome.issues === undefined;
  counters.eventRefusals[failed ? "schema_error" : "invalid_payload"]++;
  answer(failed ? { error: "schema_error", event } : { error: "invalid_payload", event, issues: outcome.issues });
  const info: ValidationErrorInfo = { socket, event, issues: outcome.issues ?? [] };
  if (failed) info.error = outcome.error;
  const listened = socket.nsp.reportValidationError(info);
  if (failed && !listened) {
    const key = schemaKey ?? schemasOf(socket.nsp)?.get(event) ?? socket.nsp;
    if (!warned.has(key)) {
      warned.add(key);
      const reason = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
      process.emitWarning(
        `tidewire: the schema of event "${event}" (namespace "${socket.nsp.name}") threw: ${reason}. ` +
          "The event was dropped; listen to validation_error to see every occurrence.",
        "TidewireSchemaWarning",
      );
    }
  }
}
