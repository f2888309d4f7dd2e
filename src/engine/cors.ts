/**
 * CORS for polling requests (and, through io/, the client bundle), with the
 * option semantics of the `cors` middleware that engine.io installs
 * (features.md A1.13), hardened: a disallowed origin is never reflected and
 * `Access-Control-Allow-Credentials` is only sent together with an allowed
 * origin.
 *
 * Installed as the first engine middleware when the `cors` option is set. A
 * preflight (`OPTIONS`) is answered here (204 by default) and goes no
 * further; other requests get their headers and continue.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { invalidOption } from "../core/errors.js";
import type { Middleware } from "./middleware.js";

export type StaticOrigin = boolean | string | RegExp | Array<string | RegExp | boolean>;

/** Options of the `cors` middleware, as socket.io documents them. */
export interface CorsOptions {
  /**
   * Allowed origin(s): `"*"` any (sent as `*`), `true` reflects the request
   * origin, a string is announced as is, a RegExp or an array reflects the
   * request origin when it matches, `false` sends no CORS headers, a
   * function `(origin, callback)` answers one of these per request.
   * @default "*"
   */
  origin?:
    | StaticOrigin
    | ((origin: string | undefined, cb: (err: Error | null, allow?: StaticOrigin) => void) => void);
  /** @default "GET,HEAD,PUT,PATCH,POST,DELETE" */
  methods?: string | string[];
  /** @default the request's Access-Control-Request-Headers */
  allowedHeaders?: string | string[];
  /** The `cors` package's alias of `allowedHeaders`, read when that one is unset. @default none */
  headers?: string | string[];
  /** @default none */
  exposedHeaders?: string | string[];
  /** @default false */
  credentials?: boolean;
  /** @default none */
  maxAge?: number;
  /** @default false */
  preflightContinue?: boolean;
  /** @default 204 */
  optionsSuccessStatus?: number;
}

/** Options computed per request, as the `cors` package allows: `callback(err, options)`. */
export type CorsOptionsDelegate = (
  req: IncomingMessage,
  callback: (err: Error | null, options?: CorsOptions) => void,
) => void;

const DEFAULT_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE";

const ORIGIN_EXPECTED =
  'true, false, "*", an origin such as "https://example.com", a RegExp, an array of those, or a function (origin, callback)';
const LIST_EXPECTED = 'a string such as "x-token,x-user" or an array of strings';

function isStaticOrigin(value: unknown): boolean {
  if (Array.isArray(value)) return value.every(isStaticOrigin);
  return typeof value === "boolean" || typeof value === "string" || value instanceof RegExp;
}

function isHeaderList(value: unknown): boolean {
  return typeof value === "string" || (Array.isArray(value) && value.every((v) => typeof v === "string"));
}

/**
 * Checks cors options as the `cors` package would use them; `name` is the
 * option's name in messages. Values the package ignores or that would fail
 * on the first request are refused.
 */
export function checkCorsOptions(opts: object, name = "cors"): CorsOptions {
  if (Array.isArray(opts) || opts instanceof RegExp) {
    throw invalidOption(name, 'cors options such as { origin: "https://example.com" }', opts);
  }
  const o = opts as Record<string, unknown>;
  if (o.origin !== undefined && o.origin !== null && typeof o.origin !== "function" && !isStaticOrigin(o.origin)) {
    throw invalidOption(`${name}.origin`, ORIGIN_EXPECTED, o.origin);
  }
  for (const key of ["methods", "allowedHeaders", "headers", "exposedHeaders"]) {
    if (o[key] !== undefined && o[key] !== null && !isHeaderList(o[key])) {
      throw invalidOption(`${name}.${key}`, LIST_EXPECTED, o[key]);
    }
  }
  if (o.credentials !== undefined && typeof o.credentials !== "boolean") {
    throw invalidOption(`${name}.credentials`, "true or false (cors ignores anything else)", o.credentials);
  }
  const maxAge = o.maxAge;
  if (maxAge !== undefined && maxAge !== null && typeof maxAge !== "string" && !Number.isFinite(maxAge)) {
    throw invalidOption(`${name}.maxAge`, "a number of seconds", maxAge);
  }
  const status = o.optionsSuccessStatus;
  if (status !== undefined && !(Number.isInteger(status) && (status as number) >= 100 && (status as number) <= 999)) {
    throw invalidOption(`${name}.optionsSuccessStatus`, "an HTTP status code such as 204 or 200", status);
  }
  return opts as CorsOptions;
}

/**
 * The `cors` option, validated: false (no CORS), true (all defaults), cors
 * options, or a delegate computing them per request. `"*"` counts as true:
 * engine.io hands it to the `cors` package, which then uses its defaults.
 */
export function resolveCors(value: unknown): false | true | CorsOptions | CorsOptionsDelegate {
  if (value === undefined || value === null || value === false) return false;
  if (value === true || value === "*") return true;
  if (typeof value === "function") return value as CorsOptionsDelegate;
  if (typeof value === "object") return checkCorsOptions(value);
  throw invalidOption("cors", 'true, cors options such as { origin: "https://example.com" }, or a function (req, callback)', value);
}

function join(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(",") : value;
}

function isAllowed(origin: string | undefined, allowed: StaticOrigin): boolean {
  if (Array.isArray(allowed)) return allowed.some((entry) => isAllowed(origin, entry));
  if (typeof allowed === "string") return origin === allowed;
  if (allowed instanceof RegExp) return origin !== undefined && allowed.test(origin);
  return !!allowed;
}

/** Appends to a Vary header without duplicating entries. */
export function addVary(res: ServerResponse, field: string): void {
  const current = res.getHeader("Vary");
  if (current === undefined) {
    res.setHeader("Vary", field);
    return;
  }
  const text = Array.isArray(current) ? current.join(", ") : String(current);
  const fields = text.split(",").map((f) => f.trim().toLowerCase());
  if (fields.includes("*") || fields.includes(field.toLowerCase())) return;
  res.setHeader("Vary", text ? `${text}, ${field}` : field);
}

/**
 * Sets the origin headers; returns whether the origin counts as allowed
 * (which gates the credentials header).
 */
function applyOrigin(res: ServerResponse, allowed: StaticOrigin, requestOrigin: string | undefined): boolean {
  if (allowed === "*") {
    res.setHeader("Access-Control-Allow-Origin", "*");
    return true;
  }
  if (typeof allowed === "string") {
    // A fixed origin is announced whatever the request says; browsers compare.
    res.setHeader("Access-Control-Allow-Origin", allowed);
    addVary(res, "Origin");
    return requestOrigin === undefined || requestOrigin === allowed;
  }
  addVary(res, "Origin");
  if (requestOrigin !== undefined && isAllowed(requestOrigin, allowed)) {
    res.setHeader("Access-Control-Allow-Origin", requestOrigin);
    return true;
  }
  return false;
}

function applyHeaders(req: IncomingMessage, res: ServerResponse, opts: CorsOptions, origin: StaticOrigin): boolean {
  const allowed = applyOrigin(res, origin, req.headers.origin);
  if (opts.credentials === true && allowed) res.setHeader("Access-Control-Allow-Credentials", "true");
  const exposed = join(opts.exposedHeaders);
  if (exposed) res.setHeader("Access-Control-Expose-Headers", exposed);
  if (req.method !== "OPTIONS") return false;
  res.setHeader("Access-Control-Allow-Methods", join(opts.methods) ?? DEFAULT_METHODS);
  // As the `cors` package: `headers` stands in for an unset (or empty) `allowedHeaders`.
  const configured = opts.allowedHeaders || opts.headers;
  let headers = configured ? join(configured) : undefined;
  if (headers === undefined) {
    headers = req.headers["access-control-request-headers"];
    addVary(res, "Access-Control-Request-Headers");
  }
  if (headers) res.setHeader("Access-Control-Allow-Headers", headers);
  if (typeof opts.maxAge === "number" || (opts.maxAge && String(opts.maxAge).length)) {
    res.setHeader("Access-Control-Max-Age", String(opts.maxAge));
  }
  return true;
}

/** Applies `opts` to one request: headers, then the preflight answer or `next()`. */
function handle(opts: CorsOptions, req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
  const originOption = opts.origin === undefined ? "*" : opts.origin;
  const finish = (origin: StaticOrigin | null | undefined): void => {
    // `origin: false` (or a callback answering false) disables CORS for the request.
    if (!origin) return next();
    const preflight = applyHeaders(req, res, opts, origin);
    if (!preflight || opts.preflightContinue) return next();
    res.statusCode = opts.optionsSuccessStatus ?? 204;
    res.setHeader("Content-Length", "0");
    res.end();
  };
  if (typeof originOption !== "function") return finish(originOption);
  let settled = false;
  originOption(req.headers.origin, (err, origin) => {
    if (settled) return;
    settled = true;
    if (err) return next(err);
    finish(origin);
  });
}

/**
 * The CORS middleware for a resolved `cors` option (`true` means all
 * defaults: any origin). A delegate's answer is checked like the option;
 * a bad one, or an error, goes to `next(err)`.
 */
export function corsMiddleware(option: true | CorsOptions | CorsOptionsDelegate): Middleware {
  if (typeof option === "function") {
    return (req, res, next) => {
      let settled = false;
      option(req, (err, options) => {
        if (settled) return;
        settled = true;
        if (err) return next(err);
        let opts: CorsOptions;
        try {
          opts = checkCorsOptions(options ?? {}, "cors (as answered by the cors function)");
        } catch (invalid) {
          return next(invalid);
        }
        handle(opts, req, res, next);
      });
    };
  }
  const opts: CorsOptions = option === true ? {} : { ...option };
  return (req, res, next) => handle(opts, req, res, next);
}
