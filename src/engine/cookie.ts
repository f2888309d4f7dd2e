/**
 * The optional sticky-session cookie set on the polling handshake response
 * (features.md A1.12): `io=<sid>; Path=/; HttpOnly; SameSite=Lax` by default.
 */
import { serialize } from "cookie";
import type { CookieOptions } from "./options.js";

export const DEFAULT_COOKIE: Readonly<CookieOptions> = Object.freeze({
  name: "io",
  path: "/",
  httpOnly: true,
  sameSite: "lax",
});

/** Resolves the `cookie` option: false/undefined → null, true → defaults, object → merged over them. */
export function resolveCookie(option: boolean | CookieOptions | undefined): CookieOptions | null {
  if (!option) return null;
  return option === true ? { ...DEFAULT_COOKIE } : { ...DEFAULT_COOKIE, ...option };
}

/** The Set-Cookie header value carrying the session id. */
export function sessionCookie(options: CookieOptions, sid: string): string {
  const { name, ...attributes } = options;
  return serialize(name ?? "io", sid, attributes);
}
