/**
 * The catalogue of errors a user of tidewire can receive. Each has a stable
 * string code so that callers can branch on `err.code` rather than on text.
 */
export const ErrorCodes = {
  INVALID_OPTION: "ERR_TIDEWIRE_INVALID_OPTION",
  NOT_AN_HTTP_SERVER: "ERR_TIDEWIRE_NOT_AN_HTTP_SERVER",
  RESERVED_EVENT: "ERR_TIDEWIRE_RESERVED_EVENT",
  ACK_TIMEOUT: "ERR_TIDEWIRE_ACK_TIMEOUT",
  PARSE: "ERR_TIDEWIRE_PARSE",
  LIMIT: "ERR_TIDEWIRE_LIMIT",
  UNSUPPORTED: "ERR_TIDEWIRE_UNSUPPORTED",
  NOT_RUNNING: "ERR_SERVER_NOT_RUNNING",
  SESSION_NOT_RECOVERED: "ERR_TIDEWIRE_SESSION_NOT_RECOVERED",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class TidewireError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TidewireError";
    this.code = code;
  }
}

/**
 * A bad option: names the option, what was given and what is expected,
 * then `hint` (what to do), if any.
 */
export function invalidOption(name: string, expected: string, got: unknown, hint?: string): TidewireError {
  return new TidewireError(
    ErrorCodes.INVALID_OPTION,
    `Invalid option "${name}": expected ${expected}, got ${describeValue(got)}.` + (hint ? ` ${hint}` : ""),
  );
}

/** A short description of a value for messages: JSON for plain data, the class of an instance. */
function describeValue(value: unknown): string {
  if (typeof value === "function") return "a function";
  if (value instanceof RegExp) return String(value);
  if (value !== null && typeof value === "object") {
    const proto = Object.getPrototypeOf(value);
    if (proto !== null && proto !== Object.prototype && proto !== Array.prototype) {
      return `an instance of ${proto.constructor?.name || "a class"}`;
    }
  }
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 120 ? text.slice(0, 117) + "..." : text;
}

/** Thrown by decoders; the connection that sent the input is closed with "parse error". */
export class ParseError extends TidewireError {
  constructor(message: string) {
    super(ErrorCodes.PARSE, message);
    this.name = "ParseError";
  }
}
