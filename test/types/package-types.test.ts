/**
 * The published declarations, as a user's TypeScript sees them: the built
 * package (package.json and dist/, built by `npm test`'s pretest) is copied to
 * a temporary node_modules/tidewire next to the packages a user would have
 * (tidewire's dependencies, @types/node, redis, ioredis; no @types/ws or
 * @types/debug), and the files of test/types/package are compiled under four
 * module settings: ESM and CommonJS under nodenext, node10 and bundler.
 * user.ts also compiles against socket.io, with the module names swapped: it
 * is a fair socket.io user's file. Every `@ts-expect-error` in the files must
 * be used.
 *
 * One TypeScript program per set of compiler options, with skipLibCheck off,
 * reporting what `tsc --noEmit` reports for the user's files and for
 * tidewire's declarations; the declarations of other packages (@types/node,
 * redis, socket.io) are not checked, which is most of tsc's time.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const fixtures = fileURLToPath(new URL("./package/", import.meta.url));

/** What a user's project has installed besides tidewire (symlinks into this repository's node_modules). */
const USER_PACKAGES = ["@types/node", "redis", "ioredis", "socket.io", "@socket.io/redis-adapter", "zod", "valibot", "@opentelemetry/api"];

/** One directory of a project: its own package.json `type`, so the same file is ESM or CommonJS. */
interface Part {
  dir: string;
  type?: "module";
  files: string[];
  /** Module names replaced in every file (the socket.io comparison). */
  swap?: Record<string, string>;
}

/** One tsc run: compiler options shared by its parts (the declarations are checked once per run). */
interface Project {
  name: string;
  compilerOptions: Record<string, unknown>;
  parts: Part[];
  /** dist files the program must have loaded (the resolution under test). */
  entries: string[];
}

const ALL_FILES = ["user.ts", "extras.ts", "policy.ts", "require.cts", "check.cjs"];
const PROJECTS: Project[] = [
  {
    name: "nodenext: ESM, CommonJS, and user.ts against socket.io",
    compilerOptions: { module: "nodenext", moduleResolution: "nodenext" },
    parts: [
      { dir: "esm", type: "module", files: ALL_FILES },
      { dir: "cjs", files: ALL_FILES },
      {
        dir: "socket.io",
        type: "module",
        files: ["user.ts"],
        swap: { "tidewire/redis": "@socket.io/redis-adapter", tidewire: "socket.io" },
      },
    ],
    entries: ["index.d.ts", "redis.d.ts", "stream.d.ts", "metrics.d.ts", "otel.d.ts", "cjs.d.cts", "redis.d.cts", "stream.d.cts", "metrics.d.cts", "otel.d.cts", "cluster.d.ts", "cluster.d.cts"],
  },
  {
    // esModuleInterop off (TypeScript's default for module commonjs): the declarations must not need it
    name: "node10 (moduleResolution node, module commonjs)",
    compilerOptions: { module: "commonjs", moduleResolution: "node", esModuleInterop: false },
    parts: [{ dir: "node10", files: ALL_FILES }],
    entries: ["cjs.d.cts", "redis.d.cts", "stream.d.cts", "metrics.d.cts", "otel.d.cts", "cluster.d.cts"],
  },
  {
    name: "bundler (module esnext)",
    compilerOptions: { module: "esnext", moduleResolution: "bundler" },
    parts: [{ dir: "bundler", type: "module", files: ["user.ts", "extras.ts", "policy.ts"] }],
    entries: ["index.d.ts", "redis.d.ts", "stream.d.ts", "metrics.d.ts", "otel.d.ts", "cluster.d.ts"],
  },
];

function link(nodeModules: string, name: string): void {
  const target = join(root, "node_modules", name);
  if (!existsSync(target)) throw new Error(`${name} is not installed in this repository (npm ci)`);
  mkdirSync(dirname(join(nodeModules, name)), { recursive: true });
  symlinkSync(target, join(nodeModules, name), "dir");
}

/** node_modules/tidewire as `npm install` leaves it: package.json, README, LICENSE and dist (copied, not linked). */
function installPackage(nodeModules: string): void {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const target = join(nodeModules, "tidewire");
  mkdirSync(target, { recursive: true });
  cpSync(join(root, "package.json"), join(target, "package.json"));
  for (const entry of pkg.files as string[]) {
    if (existsSync(join(root, entry))) cpSync(join(root, entry), join(target, entry), { recursive: true });
  }
  for (const dependency of Object.keys(pkg.dependencies)) link(nodeModules, dependency);
}

function writeProject(dir: string, index: number, project: Project): string {
  const home = join(dir, `project-${index}`);
  const files: string[] = [];
  for (const part of project.parts) {
    mkdirSync(join(home, part.dir), { recursive: true });
    writeFileSync(join(home, part.dir, "package.json"), JSON.stringify({ private: true, type: part.type }));
    for (const file of part.files) {
      let text = readFileSync(join(fixtures, file), "utf8");
      for (const [from, to] of Object.entries(part.swap ?? {})) text = text.replaceAll(`"${from}"`, `"${to}"`);
      writeFileSync(join(home, part.dir, file), text);
      files.push(`${part.dir}/${file}`);
    }
  }
  const compilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    target: "ES2022",
    lib: ["ES2022"],
    types: ["node"],
    allowJs: true,
    checkJs: true,
    ...project.compilerOptions,
  };
  writeFileSync(join(home, "tsconfig.json"), JSON.stringify({ compilerOptions, files }, null, 2));
  return home;
}

interface Compilation {
  diagnostics: string[];
  /** The files of node_modules/tidewire the program loaded, relative to it. */
  loaded: string[];
}

/** tsc --noEmit on `home`'s tsconfig.json, reporting for the user's files and tidewire's declarations. */
function compile(home: string): Compilation {
  const configPath = join(home, "tsconfig.json");
  const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
  })!;
  const program = ts.createProgram({
    rootNames: config.fileNames,
    options: config.options,
    configFileParsingDiagnostics: ts.getConfigFileParsingDiagnostics(config),
  });
  const tidewire = `${sep}node_modules${sep}tidewire${sep}`;
  const checked = program
    .getSourceFiles()
    .filter((file) => !file.fileName.includes(`${sep}node_modules${sep}`) || file.fileName.includes(tidewire));
  const diagnostics = [
    ...program.getConfigFileParsingDiagnostics(),
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...checked.flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]),
  ];
  const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => home, getNewLine: () => "\n" };
  return {
    diagnostics: diagnostics.map((d) => ts.formatDiagnostic(d, host).trim()),
    loaded: checked
      .map((file) => file.fileName)
      .filter((name) => name.includes(tidewire))
      .map((name) => name.slice(name.indexOf(tidewire) + tidewire.length)),
  };
}

describe("published declarations (built package)", () => {
  let dir = "";
  const results = new Map<string, Compilation>();

  beforeAll(async () => {
    if (!existsSync(join(root, "dist", "index.d.ts"))) {
      throw new Error("dist/ is missing: run `npm run build` (npm test's pretest does)");
    }
    dir = mkdtempSync(join(tmpdir(), "tidewire-package-types-"));
    const nodeModules = join(dir, "node_modules");
    installPackage(nodeModules);
    for (const name of USER_PACKAGES) link(nodeModules, name);
    PROJECTS.forEach((project, i) => results.set(project.name, compile(writeProject(dir, i, project))));
  }, 120_000);

  // KEEP_TYPES_DIR=1 keeps the temporary projects, to run tsc on them by hand
  afterAll(() => {
    if (dir && !process.env.KEEP_TYPES_DIR) rmSync(dir, { recursive: true, force: true });
  });

  it.each(PROJECTS)("compiles with no diagnostics: $name", { timeout: 5_000 }, (project) => {
    const result = results.get(project.name)!;
    expect(result.diagnostics).toEqual([]);
    for (const entry of project.entries) expect(result.loaded).toContain(`dist/${entry}`);
  });
});
