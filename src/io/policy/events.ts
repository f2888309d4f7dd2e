/**
 * Validated events: schemas from any Standard Schema library declared once
 * per event name (`defineEvents`), or given to `socket.on(event, schema,
 * handler)`, and the types TypeScript infers from them.
 *
 * An event's arguments are a tuple of schemas (one per argument; a single
 * schema is a one-argument event). Incoming values are replaced by what the
 * schemas return (zod's defaults and transforms apply); arguments the client
 * left out are validated as `undefined` (an `.optional()` schema accepts
 * them), extra ones make the payload invalid. The acknowledgement is never
 * one of the arguments: it is the trailing function, handled apart.
 */
import { invalidOption } from "../../core/errors.js";
import type { StandardSchemaV1 } from "./standard-schema.js";

export type { StandardSchemaV1 } from "./standard-schema.js";

/** The schemas of an event's arguments: one schema (one argument) or a tuple, one per argument. */
export type ArgSchemas = StandardSchemaV1 | readonly [] | readonly [StandardSchemaV1, ...StandardSchemaV1[]];

/** An event's declaration: its arguments' schemas, or `{ args, ack }` where `ack` types the acknowledgement's payload. */
export type EventDeclaration = ArgSchemas | { readonly args: ArgSchemas; readonly ack?: ArgSchemas };

type Output<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : never;
type Input<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferInput<S> : never;

/** The values a handler receives for `S`: what the schemas output, one per argument. */
export type ParsedArgs<S> = S extends StandardSchemaV1
  ? [Output<S>]
  : S extends readonly unknown[]
    ? { -readonly [K in keyof S]: Output<S[K]> }
    : never;

/** The values to send for `S`: what the schemas take as input, one per argument. */
export type InputArgs<S> = S extends StandardSchemaV1
  ? [Input<S>]
  : S extends readonly unknown[]
    ? { -readonly [K in keyof S]: Input<S[K]> }
    : never;

/** The acknowledgement a validated handler gets: it does nothing when the client asked for none. */
export type AckCallback = (...args: any[]) => void;

/** A handler of `socket.on(event, schema, handler)`: the parsed arguments, then the acknowledgement. */
export type ValidatedListener<S extends ArgSchemas> = (...args: [...ParsedArgs<S>, ack: AckCallback]) => void;

type ArgsOf<D> = D extends { readonly args: infer A } ? A : D;
type AckOf<D> = D extends { readonly ack: infer K } ? K : never;

/** A listener signature from a declaration: parsed arguments, then an ack typed by `ack` if declared. */
type ListenSignature<D> = [AckOf<D>] extends [never]
  ? (...args: ParsedArgs<ArgsOf<D>>) => void
  : (...args: [...ParsedArgs<ArgsOf<D>>, ack: (...response: InputArgs<AckOf<D>>) => void]) => void;

/** An emit signature from a declaration: input arguments, then the client's acknowledgement if declared. */
type EmitSignature<D> = [AckOf<D>] extends [never]
  ? (...args: InputArgs<ArgsOf<D>>) => void
  : (...args: [...InputArgs<ArgsOf<D>>, ack: (...response: ParsedArgs<AckOf<D>>) => void]) => void;

/** What `defineEvents` returns: pass it as the `events` server option or to `io.of(name).events(...)`. */
export interface EventSchemas<
  Listen extends Record<string, EventDeclaration> = Record<string, EventDeclaration>,
  Emit extends Record<string, EventDeclaration> = Record<string, EventDeclaration>,
> {
  /** Events clients send (validated on arrival). */
  readonly listen: Listen;
  /** Events the server sends (types only: the server's own data is not checked at run time). */
  readonly emit: Emit;
}

/** The ListenEvents map of a declaration, for `Server<ListenEventsOf<typeof events>, ...>`. */
export type ListenEventsOf<E> = E extends EventSchemas<infer L, any> ? { [K in keyof L]: ListenSignature<L[K]> } : never;

/** The EmitEvents map of a declaration, for `Server<..., EmitEventsOf<typeof events>>`. */
export type EmitEventsOf<E> = E extends EventSchemas<any, infer M>
  ? string extends keyof M
    ? { [event: string]: (...args: any[]) => void }
    : { [K in keyof M]: EmitSignature<M[K]> }
  : never;

/**
 * Declares events once: `listen` maps the names of the events clients send
 * to their arguments' schemas (or `{ args, ack }`); `emit`, optional, does
 * the same for the events the server sends (for types only). Incoming
 * events with a declaration are validated before any listener, middleware
 * or `onAny` sees them.
 */
export function defineEvents<
  Listen extends Record<string, EventDeclaration>,
  Emit extends Record<string, EventDeclaration> = Record<string, EventDeclaration>,
>(listen: Listen, emit?: Emit): EventSchemas<Listen, Emit> {
  if (listen === null || typeof listen !== "object") {
    throw invalidOption("defineEvents(listen)", "an object of event names to schemas", listen);
  }
  for (const name of Object.keys(listen)) compileDeclaration(`defineEvents: "${name}"`, listen[name]);
  return Object.freeze({ listen, emit: emit ?? ({} as Emit) });
}

/** A declaration checked and ready for validation. */
export interface CompiledEvent {
  readonly schemas: readonly StandardSchemaV1[];
  /** Whether an acknowledgement is declared (the handler then always gets one). */
  readonly ack: boolean;
}

function isSchema(v: unknown): v is StandardSchemaV1 {
  if (v === null || (typeof v !== "object" && typeof v !== "function")) return false;
  const standard = (v as { "~standard"?: { version?: unknown; validate?: unknown } })["~standard"];
  return standard !== null && typeof standard === "object" && standard.version === 1 && typeof standard.validate === "function";
}

/** Whether `v` is a schema or a tuple of schemas (what `socket.on(event, schema, handler)` takes). */
export function isArgSchemas(v: unknown): v is ArgSchemas {
  return isSchema(v) || (Array.isArray(v) && v.every(isSchema));
}

const SCHEMA_EXPECTED =
  "a Standard Schema (zod 4, valibot 1, arktype 2...), an array of them (one per argument), or { args, ack }";

export function compileArgs(name: string, args: unknown): readonly StandardSchemaV1[] {
  if (isSchema(args)) return [args];
  if (Array.isArray(args) && args.every(isSchema)) return args.slice();
  throw invalidOption(name, SCHEMA_EXPECTED, args);
}

export function compileDeclaration(name: string, declaration: unknown): CompiledEvent {
  if (declaration !== null && typeof declaration === "object" && !Array.isArray(declaration) && !isSchema(declaration)) {
    const d = declaration as { args?: unknown; ack?: unknown };
    if (d.ack !== undefined) compileArgs(`${name}.ack`, d.ack);
    return { schemas: compileArgs(`${name}.args`, d.args), ack: d.ack !== undefined };
  }
  return { schemas: compileArgs(name, declaration), ack: false };
}

/** The compiled declarations of an `events` value (a `defineEvents` result). */
export function compileEvents(where: string, events: unknown): Map<string, CompiledEvent> {
  const listen = (events as { listen?: unknown } | null)?.listen;
  if (listen === null || typeof listen !== "object") {
    throw invalidOption(where, "what defineEvents({ ... }) returns", events);
  }
  const table = new Map<string, CompiledEvent>();
  for (const name of Object.keys(listen)) table.set(name, compileDeclaration(`${where}: "${name}"`, (listen as Record<string, unknown>)[name]));
  return table;
}
