/**
 * Runs the TypeScript compiler on typed-events.ts, with the module
 * "tidewire-under-test" mapped to socket.io's declarations
 * (TEST_AGAINST=socket.io) or to tidewire's sources, and expects no
 * diagnostics at all: correct calls compile, and every `@ts-expect-error`
 * directive is used.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const require = createRequire(import.meta.url);
const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

// Decided from the environment directly: loading the implementation is not needed to type-check it.
const againstReference = process.env.TEST_AGAINST === "socket.io";
const target = againstReference
  ? require.resolve("socket.io").replace(/index\.js$/, "index.d.ts")
  : fileURLToPath(new URL("../../src/index.ts", import.meta.url));

function compile(files: string[], extra: ts.CompilerOptions = {}): string[] {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ["lib.es2022.d.ts"],
    types: ["node"],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    esModuleInterop: true,
    allowImportingTsExtensions: false,
    paths: { "tidewire-under-test": [target] },
    ...extra,
  };
  const program = ts.createProgram(files, options);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    if (!d.file || d.start === undefined) return `TS${d.code}: ${text}`;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${d.file.fileName}:${line + 1}:${character + 1} TS${d.code}: ${text}`;
  });
}

/** A deliberately wrong call: the negative control that shows the harness sees real types. */
const WRONG_CALL = [
  'import { Server } from "tidewire-under-test";',
  "const io = new Server<{}, { news: (n: number) => void }>();",
  'io.emit("news", "not a number");',
  "export {};",
].join("\n");

describe("typed events", () => {
  // one program for both files: compiling the implementation is the slow part
  let diagnostics: string[] = [];
  let wrongFile = "";
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tidewire-types-"));
    wrongFile = join(dir, "wrong.ts");
    writeFileSync(wrongFile, WRONG_CALL);
    diagnostics = compile([here("./typed-events.ts"), wrongFile]);
  }, 90_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("typed-events.ts compiles with no diagnostics", { timeout: 10_000 }, () => {
    expect(diagnostics.filter((d) => !d.startsWith(wrongFile))).toEqual([]);
  });

  it("the harness catches a wrong call (negative control)", { timeout: 10_000 }, () => {
    const own = diagnostics.filter((d) => d.startsWith(wrongFile));
    expect(own).toHaveLength(1);
    expect(own[0]).toContain("TS2345");
  });
});
