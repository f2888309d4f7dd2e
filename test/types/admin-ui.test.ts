/**
 * The one documented type-level difference around @socket.io/admin-ui
 * (docs/compatibility.md, "Types"): its `instrument()` is declared against
 * socket.io's `Server` class, whose private members make TypeScript refuse
 * any other class, tidewire's included; `io as any` compiles and keeps the
 * options checked. admin-ui.ts is compiled against the published
 * declarations (dist/index.d.ts, built by `npm test`), or socket.io's with
 * TEST_AGAINST=socket.io, where the direct call compiles too.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const require = createRequire(import.meta.url);
const againstReference = process.env.TEST_AGAINST === "socket.io";
const fixture = fileURLToPath(new URL("./admin-ui.ts", import.meta.url));
const target = againstReference
  ? require.resolve("socket.io").replace(/index\.js$/, "index.d.ts")
  : fileURLToPath(new URL("../../dist/index.d.ts", import.meta.url));

function compile(): string[] {
  if (!existsSync(target)) throw new Error(`${target} is missing: run "npm run build" first (npm test does)`);
  const program = ts.createProgram([fixture], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ["lib.es2022.d.ts"],
    types: ["node"],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    esModuleInterop: true,
    paths: { "tidewire-under-test": [target] },
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    if (!d.file || d.start === undefined) return `TS${d.code}: ${text}`;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${d.file.fileName}:${line + 1} TS${d.code}: ${text}`;
  });
}

describe("@socket.io/admin-ui's instrument() and the server's type", () => {
  it(
    againstReference
      ? "socket.io: the direct call and the cast both compile"
      : "tidewire: the cast compiles, options still checked; the direct call is refused (TS2345)",
    { timeout: 60_000 },
    () => {
      const diagnostics = compile();
      if (againstReference) {
        expect(diagnostics).toEqual([]);
        return;
      }
      const directLine = readFileSync(fixture, "utf8").split("\n").indexOf("instrument(io, { auth: false });") + 1;
      expect(directLine).toBeGreaterThan(0);
      expect(diagnostics).toHaveLength(1);
      expect(diagnostics[0]).toContain(`${fixture}:${directLine} TS2345`);
    },
  );
});
