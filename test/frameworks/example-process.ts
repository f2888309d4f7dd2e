/**
 * Runs one of examples/<name>/server.js as a child process, the way a user
 * does (`PORT=0 node examples/<name>/server.js`), and reads its port from the
 * `listening on http://127.0.0.1:<port>` line.
 *
 * The examples import "tidewire" by name, which resolves to dist/ through the
 * package's self-reference, so tidewire must be built (`npm test` builds it).
 * With TEST_AGAINST=socket.io a preloaded resolve hook maps "tidewire" to the
 * reference socket.io package instead.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { againstReference, withTimeout, type Teardown } from "./harness.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const aliasHook = fileURLToPath(new URL("./fixtures/tidewire-is-socket.io.mjs", import.meta.url));

export interface RunningExample {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Process id (to freeze it with SIGSTOP, for instance). */
  pid: number;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  /** Ends the process as Ctrl-C would (SIGTERM; SIGKILL after 3 s) and waits for it. */
  stop(): Promise<unknown>;
}

export interface ExampleOptions {
  /** Extra environment for the process. */
  env?: Record<string, string>;
  /** Port to listen on (default 0: any free port). */
  port?: number;
}

function stop(child: ChildProcess, exited: Promise<number | null>): Promise<unknown> {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill("SIGTERM");
  return withTimeout(exited, 3000, `example pid ${child.pid} to exit after SIGTERM`).catch(() => {
    child.kill("SIGKILL");
    return exited;
  });
}

export async function startExample(name: string, teardown: Teardown, opts: ExampleOptions = {}): Promise<RunningExample> {
  if (!againstReference && !existsSync(new URL("../../dist/index.js", import.meta.url))) {
    throw new Error('dist/index.js is missing: the examples import "tidewire" from dist/, run "npm run build" first');
  }
  const args = againstReference ? ["--import", aliasHook] : [];
  const child = spawn(process.execPath, [...args, `examples/${name}/server.js`], {
    cwd: repoRoot,
    env: { ...process.env, ...opts.env, PORT: String(opts.port ?? 0), HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  teardown.add(() => stop(child, exited));

  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));

  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      const check = () => {
        const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
        if (match) {
          child.stdout!.off("data", check);
          resolve(Number(match[1]));
        }
      };
      child.stdout!.on("data", check);
      child.once("exit", (code) => reject(new Error(`examples/${name} exited with ${code} before listening:\n${output}`)));
    }),
    10000,
    `examples/${name} to print its "listening on" line`,
  );
  return { url: `http://127.0.0.1:${port}`, port, pid: child.pid!, output: () => output, exited, stop: () => stop(child, exited) };
}
