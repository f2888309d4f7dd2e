// Type shims for framework packages installed without declarations, so the
// framework tests type-check.

/** express@4 under an alias; its API is close enough to @types/express (v5) for these tests. */
declare module "express4" {
  import express from "express";
  export default express;
}

/** The subset of Koa used by the tests and examples. */
declare module "koa" {
  import type { IncomingMessage, Server, ServerResponse } from "node:http";

  namespace Koa {
    interface Context {
      method: string;
      path: string;
      status: number;
      type: string;
      body: unknown;
      req: IncomingMessage;
      set(field: string, value: string): void;
    }
    type Next = () => Promise<void>;
    type Middleware = (ctx: Context, next: Next) => unknown;
  }

  class Koa {
    use(middleware: Koa.Middleware): this;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    listen(port: number, host: string, callback: () => void): Server;
  }
  export default Koa;
}
