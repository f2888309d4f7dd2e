// The child side of the runner's IPC, shared by every bench child process:
// `{ id, cmd, args }` in, `{ id, result }` or `{ id, error }` out. `exit`
// ends the process at once (the kernel closes every connection from this side).

/**
 * @param {Record<string, (args: object) => unknown>} commands
 */
export function answerCommands(commands) {
  const all = { exit: () => process.exit(0), ...commands };
  process.on("message", async (msg) => {
    const command = Object.hasOwn(all, msg?.cmd) ? all[msg.cmd] : undefined;
    try {
      if (!command) throw new Error(`unknown command ${msg?.cmd}`);
      process.send({ id: msg.id, result: await command(msg.args ?? {}) });
    } catch (err) {
      process.send({ id: msg.id, error: String(err?.stack ?? err) });
    }
  });
}
