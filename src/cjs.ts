/**
 * CommonJS entry: `require("tidewire")` is a function returning a Server
 * (`require("tidewire")(httpServer, opts)`), carrying the same names as the
 * ESM entry as properties. The build turns the default export into
 * `module.exports` (and `export =` in the .d.cts).
 */
import * as api from "./index.js";
import type { ServerOptions } from "./io/options.js";

function tidewire(srv?: any, opts?: ServerOptions): api.Server {
  return new api.Server(srv, opts);
}

const entry = Object.assign(tidewire, api, { default: tidewire }) as typeof tidewire &
  typeof api & { default: typeof tidewire };

export default entry;
