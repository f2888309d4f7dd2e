/**
 * CORS for polling requests, with the option semantics of the `cors`
 * middleware that engine.io installs (features.md A1.13), hardened:
 * a disallowed origin is never reflected and `Access-Control-Allow-Credentials`
 * is only sent together with an allowed origin.
 *
 * Installed as the first engine middleware when the `cors` option is set. A
 * preflight (`OPTIONS`) is answered here (204 by default) and goes no
 * further; other requests get their headers and continue.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { CorsOptions } from "./options.js";
import type { Middleware } from "./middleware.js";

type StaticOrigin = boolean | string | RegExp | Array<string | RegExp | boolean>;

const DEFAULT_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE";

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
function addVary(res: ServerResponse, field: string): void {
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
  let headers = join(opts.allowedHeaders);
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

/** The CORS middleware for `opts` (`true` means all defaults: any origin). */
export function corsMiddleware(options: CorsOptions | true): Middleware {
  const opts: CorsOptions = options === true ? {} : { ...options };
  const originOption = opts.origin === undefined ? "*" : opts.origin;
  const status = opts.optionsSuccessStatus ?? 204;

  return (req, res, next) => {
    const finish = (origin: StaticOrigin): void => {
      // `origin: false` (or a callback answering false) disables CORS for the request.
      if (!origin) return next();
      const preflight = applyHeaders(req, res, opts, origin);
      if (!preflight || opts.preflightContinue) return next();
      res.statusCode = status;
      res.setHeader("Content-Length", "0");
      res.end();
    };
    if (typeof originOption !== "function") return finish(originOption);
    let settled = false;
    originOption(req.headers.origin, (err, origin) => {
      if (settled) return;
      settled = true;
      if (err) return next(err);
      finish(origin ?? false);
    });
  };
}
