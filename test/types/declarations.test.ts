/**
 * Internals stay out of the published declarations: every `_`-prefixed
 * member in dist/**\/*.d.ts and *.d.cts (built by `npm test`'s pretest) must be
 * on the list below, which holds only what socket.io 4.8's own declarations
 * expose and code written for socket.io (adapters, plugins) uses, plus what
 * Node.js defines. Anything else is an internal to hide: `#private`, a
 * symbol, or `@internal` (the declaration build strips it).
 */
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";

const dist = fileURLToPath(new URL("../../dist/", import.meta.url));

/** "file: Container.member" → why it is public. */
const ALLOWED: Record<string, string> = {
  // socket.io's Server declares these; adapters and plugins read them
  "types/io/server.d.ts: Server._nsps": "socket.io: Server._nsps",
  "types/io/server.d.ts: Server._opts": "socket.io: Server._opts",
  "types/io/server.d.ts: Server._connectTimeout": "socket.io: Server._connectTimeout",
  // socket.io's Namespace: ack ids shared with the adapter, the adapter hooks
  "types/io/namespace.d.ts: Namespace._ids": "socket.io: Namespace._ids (socket.io-adapter increments it)",
  "types/io/namespace.d.ts: Namespace._initAdapter": "socket.io: Namespace._initAdapter",
  "types/io/namespace.d.ts: Namespace._onServerSideEmit": "socket.io: Namespace._onServerSideEmit (cluster adapters call it)",
  "types/io/parent-namespace.d.ts: ParentNamespace._initAdapter": "socket.io: ParentNamespace._initAdapter",
  // what an adapter may use of its namespace: the same socket.io members
  "types/adapter/types.d.ts: AdapterNamespace._ids": "socket.io: Namespace._ids",
  "types/adapter/types.d.ts: AdapterNamespace._onServerSideEmit": "socket.io: Namespace._onServerSideEmit",
  "types/adapter/types.d.ts: AdapterNamespace.server._opts": "socket.io: Server._opts",
  // the wire format of a binary attachment: {"_placeholder":true,"num":0}
  "types/io/protocol/binary.d.ts: Placeholder._placeholder": "socket.io-parser wire format",
  // Node.js Readable implementation methods
  "types/stream/incoming.d.ts: IncomingStream._read": "Node.js Readable",
  "types/stream/incoming.d.ts: IncomingStream._destroy": "Node.js Readable",
};

function declarationFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return declarationFiles(path);
    return /\.d\.c?ts$/.test(entry.name) ? [path] : [];
  });
}

/** Every `_`-prefixed member (class, interface or type literal; any visibility) as "file: Container.member". */
function underscoreMembers(path: string): string[] {
  const source = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.ES2022, true);
  const file = relative(dist, path).split("\\").join("/");
  const found: string[] = [];
  const visit = (node: ts.Node, container: string): void => {
    let inner = container;
    if ((ts.isClassDeclaration(node) || ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) && node.name) {
      inner = node.name.text;
    } else if (ts.isTypeElement(node) || ts.isClassElement(node)) {
      const name = node.name && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name)) ? node.name.text : undefined;
      if (name !== undefined) {
        if (name.startsWith("_")) found.push(`${file}: ${container}.${name}`);
        inner = `${container}.${name}`;
      }
    }
    ts.forEachChild(node, (child) => visit(child, inner));
  };
  visit(source, "");
  return found;
}

describe("published declarations keep internals out", () => {
  let members: string[] = [];
  beforeAll(() => {
    members = declarationFiles(dist).flatMap(underscoreMembers);
  });

  it("has the declarations to check (npm test builds them)", () => {
    const files = declarationFiles(dist).map((path) => relative(dist, path).split("\\").join("/"));
    for (const entry of ["index.d.ts", "cjs.d.cts", "redis.d.ts", "redis.d.cts", "stream.d.ts", "stream.d.cts", "cluster.d.ts", "cluster.d.cts"]) {
      expect(files).toContain(entry);
    }
    expect(files.length).toBeGreaterThan(20);
  });

  it("exposes no `_` member beyond socket.io's own", () => {
    expect(members.filter((member) => !(member in ALLOWED))).toEqual([]);
  });

  it("lists no `_` member that is gone (drop the entry)", () => {
    expect(Object.keys(ALLOWED).filter((member) => !members.includes(member))).toEqual([]);
  });

  it("strips the engine's internal fields", () => {
    const all = members.join("\n");
    for (const internal of ["_flushQueued", "_tPrev", "_tNext", "_tDeadline", "_tList", "_fns", "_preConnectSockets"]) {
      expect(all).not.toContain(internal);
    }
  });
});
