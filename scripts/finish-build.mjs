// The build after tsup (which writes the JavaScript):
//  1. emits the declarations, one .d.ts per reachable source file, into
//     dist/types (tsconfig.types.json: `@internal` members are stripped);
//  2. writes each entry's declaration file, for both module formats, as a
//     thin file over dist/types. One declaration of each class for every
//     entry and format keeps e.g. tidewire/redis's RedisAdapter assignable
//     where tidewire's ServerOptions expects an adapter;
//  3. tidies the CommonJS files.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const dist = new URL("../dist/", import.meta.url);
const write = (name, text) => writeFileSync(new URL(name, dist), text);

// --- 1. declarations ---------------------------------------------------------------------------

/**
 * `implements` clauses carry nothing for users (class types are structural)
 * and may name an `@internal` interface (the engine's seams), whose members
 * stripInternal removed: drop them, then the imports nothing uses any more.
 */
const dropImplements = (context) => (file) => {
  if (!ts.isSourceFile(file)) return file;
  const { factory } = context;
  const withoutImplements = (node) => {
    if (ts.isClassDeclaration(node) && node.heritageClauses) {
      const heritage = node.heritageClauses.filter((clause) => clause.token !== ts.SyntaxKind.ImplementsKeyword);
      return factory.updateClassDeclaration(
        node,
        node.modifiers,
        node.name,
        node.typeParameters,
        heritage.length > 0 ? heritage : undefined,
        node.members,
      );
    }
    return node;
  };
  const statements = file.statements.map(withoutImplements);
  const used = new Set();
  const collect = (node) => {
    if (ts.isIdentifier(node)) used.add(ts.idText(node));
    ts.forEachChild(node, collect);
  };
  for (const statement of statements) if (!ts.isImportDeclaration(statement)) collect(statement);
  const pruned = [];
  for (const statement of statements) {
    const bindings = ts.isImportDeclaration(statement) ? statement.importClause?.namedBindings : undefined;
    if (!bindings || !ts.isNamedImports(bindings) || statement.importClause.name) {
      pruned.push(statement);
      continue;
    }
    const kept = bindings.elements.filter((element) => used.has(ts.idText(element.name)));
    if (kept.length === 0) continue;
    const clause = statement.importClause;
    pruned.push(
      factory.updateImportDeclaration(
        statement,
        statement.modifiers,
        factory.updateImportClause(clause, clause.isTypeOnly, clause.name, factory.updateNamedImports(bindings, kept)),
        statement.moduleSpecifier,
        statement.attributes,
      ),
    );
  }
  return factory.updateSourceFile(file, pruned);
};

const configPath = fileURLToPath(new URL("../tsconfig.types.json", import.meta.url));
const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
if (!config || config.errors.length > 0) throw new Error(`tsconfig.types.json: ${JSON.stringify(config?.errors)}`);
const program = ts.createProgram(config.fileNames, config.options);
const result = program.emit(undefined, undefined, undefined, true, { afterDeclarations: [dropImplements] });
const diagnostics = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
if (diagnostics.length > 0) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: ts.sys.getCurrentDirectory, getNewLine: () => "\n" };
  throw new Error(ts.formatDiagnostics(diagnostics, host));
}

// dist/types is CommonJS-format for TypeScript, so that the .d.cts entries can
// load it under node16/nodenext; the ESM .d.ts entries import CommonJS freely.
write("types/package.json", JSON.stringify({ type: "commonjs" }, null, 2) + "\n");

// --- 2. entry declarations ---------------------------------------------------------------------

for (const [entry, target] of [
  ["index", "./types/index.js"],
  ["redis", "./types/redis/index.js"],
  ["redis-streams", "./types/redis-streams/index.js"],
  ["stream", "./types/stream/index.js"],
  ["metrics", "./types/observe/prometheus.js"],
  ["otel", "./types/observe/otel.js"],
  ["cluster", "./types/cluster/index.js"],
]) {
  const text = `export * from "${target}";\n`;
  write(`${entry}.d.ts`, text);
  if (entry !== "index") write(`${entry}.d.cts`, text);
}

/**
 * What src/index.ts exports: [exported name, declared name, declaring module
 * as a path under dist/types], following re-exports to the declaration.
 */
function entryExports() {
  const checker = program.getTypeChecker();
  const srcDir = fileURLToPath(new URL("../src/", import.meta.url));
  const index = program.getSourceFile(`${srcDir}index.ts`);
  const names = [];
  for (const exported of checker.getExportsOfModule(checker.getSymbolAtLocation(index))) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const file = symbol.declarations[0].getSourceFile().fileName;
    if (!file.startsWith(srcDir)) throw new Error(`src/index.ts exports ${exported.name} from outside src/`);
    names.push([exported.name, symbol.name, `./types/${file.slice(srcDir.length).replace(/\.ts$/, ".js")}`]);
  }
  return names;
}

// require("tidewire") is a function returning a Server that carries every
// export: `export =` of a function merged with a namespace gives .cts users
// values and types alike (`import { Server, DisconnectReason } from "tidewire"`,
// `import io = require("tidewire")`). Each name is aliased from the module that
// declares it (an alias cannot go through an `export type` re-export).
// The call signatures follow Server's constructor (src/io/server.ts).
const modules = new Map();
const aliases = entryExports().map(([name, original, specifier]) => {
  if (!modules.has(specifier)) modules.set(specifier, `m${modules.size}`);
  return `    export import ${name} = ${modules.get(specifier)}.${original};`;
});
const imports = [...modules].map(([specifier, local]) => `import * as ${local} from "${specifier}";`);
const typeParameters = `<
    ListenEvents extends api.EventsMap = api.DefaultEventsMap,
    EmitEvents extends api.EventsMap = ListenEvents,
    ServerSideEvents extends api.EventsMap = api.DefaultEventsMap,
    SocketData = any,
>`;
const server = "api.Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>";
write(
  "cjs.d.cts",
  `import type * as api from "./types/index.js";
import type { HttpLikeServer } from "./types/io/attach.js";
${imports.join("\n")}

/** \`require("tidewire")(srv, opts)\`: the same as \`new Server(srv, opts)\`. */
declare function tidewire${typeParameters}(opts?: api.ServerOptions): ${server};
declare function tidewire${typeParameters}(srv?: HttpLikeServer | number | string, opts?: api.ServerOptions): ${server};
declare namespace tidewire {
${aliases.join("\n")}
}
export = tidewire;
`,
);

// --- 3. CommonJS files -------------------------------------------------------------------------

// rollup (tsup's CommonJS path) keeps esbuild's source map comment and adds its own.
for (const name of readdirSync(dist)) {
  if (!name.endsWith(".cjs")) continue;
  const text = readFileSync(new URL(name, dist), "utf8");
  const comment = `//# sourceMappingURL=${name}.map`;
  const fixed = text.replaceAll(`${comment}\n${comment}`, comment);
  if (fixed !== text) write(name, fixed);
}
