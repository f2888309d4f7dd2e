import createDebug from "debug";

/**
 * A debug logger for `tidewire:<layer>:<module>`. Callers guard hot-path
 * logging with `log.enabled` so no string is built while debugging is off.
 */
export function logger(layer: string, module: string): createDebug.Debugger {
  return createDebug(`tidewire:${layer}:${module}`);
}
