/**
 * How @socket.io/admin-ui's `instrument()` type-checks with a server.
 * Compiled (never run) by admin-ui.test.ts with "tidewire-under-test" mapped
 * to socket.io's or tidewire's published declarations.
 */
import { Server } from "tidewire-under-test";
import { instrument } from "@socket.io/admin-ui";

const io = new Server();

// What docs/admin-ui.md says to write: compiles with either server.
instrument(io as any, { auth: false, mode: "production", serverId: "node-1" });
// The options stay checked through the cast.
// @ts-expect-error -- auth is false or a basic-auth object
instrument(io as any, { auth: "yes" });

// The direct call (the line admin-ui.test.ts looks for): fine with socket.io's own Server class.
instrument(io, { auth: false });
