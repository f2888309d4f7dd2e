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

/** A bad option: names the option, what was given and what is expected. */
export function invalidOption(name: string, expected: string, got: unknown): TidewireError {
  let shown: string;
  try {
    shown = typeof got === "function" ? "a function" : JSON.stringify(got) ?? String(got);
  } catch {
    shown = String(got);
  }
  return new TidewireError(
    ErrorCodes.INVALID_OPTION,
    `Invalid option "${name}": expected ${expected}, got ${shown}.`,
  );
}

/** Thrown by decoders; the connection that sent the input is closed with "parse error". */
export class ParseError extends TidewireError {
  constructor(message: string) {
    super(ErrorCodes.PARSE, message);
    this.name = "ParseError";
  }
}
