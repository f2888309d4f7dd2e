/**
 * Type-level checks of the typed-events generics
 * (`Server<ListenEvents, EmitEvents, InterServerEvents, SocketData>`).
 * Compiled (never run) by typed-events.test.ts with "tidewire-under-test"
 * mapped to socket.io's or tidewire's declarations. Correct calls must
 * compile; each `@ts-expect-error` line must fail to compile, so typing that
 * is too loose shows up as an unused directive.
 */
import { createServer } from "node:http";
import {
  Server,
  type BroadcastOperator,
  type DefaultEventsMap,
  type DisconnectReason,
  type ExtendedError,
  type Namespace,
  type RemoteSocket,
  type Socket,
} from "tidewire-under-test";

interface ClientToServerEvents {
  hello: (name: string) => void;
  move: (x: number, y: number) => void;
  withAck: (n: number, cb: (result: string) => void) => void;
}

interface ServerToClientEvents {
  news: (title: string, count: number) => void;
  noArgs: () => void;
  bin: (data: Buffer) => void;
  ask: (question: string, cb: (answer: number) => void) => void;
  pair: (cb: (name: string, age: number) => void) => void;
}

interface InterServerEvents {
  sync: (version: number) => void;
  askPeers: (cb: (err: Error, load: number) => void) => void;
}

interface SocketData {
  user: string;
  age: number;
}

type AppServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
type AppSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

const io: AppServer = new Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>(createServer(), {
  path: "/socket.io",
  connectTimeout: 1000,
  pingInterval: 100,
});

// --- listening on a socket -----------------------------------------------------------------

io.on("connection", (socket) => {
  const typed: AppSocket = socket;
  void typed;

  socket.on("hello", (name) => {
    const s: string = name;
    void s;
  });
  socket.on("move", (x, y) => {
    const sum: number = x + y;
    void sum;
  });
  socket.on("withAck", (n, cb) => {
    cb(String(n));
    // @ts-expect-error the ack takes a string
    cb(n);
  });
  // @ts-expect-error the listener's parameter has the wrong type
  socket.on("hello", (name: number) => void name);
  // @ts-expect-error not an event of ClientToServerEvents
  socket.on("unknown", () => undefined);

  socket.on("disconnect", (reason, description) => {
    const r: DisconnectReason = reason;
    void r;
    void description;
  });
  socket.on("disconnecting", (reason) => {
    const r: string = reason;
    void r;
  });
  socket.on("error", (err) => {
    const e: Error = err;
    void e;
  });

  // --- emitting to the socket --------------------------------------------------------------

  socket.emit("news", "title", 1);
  socket.emit("noArgs");
  socket.emit("bin", Buffer.from([1]));
  // @ts-expect-error count must be a number
  socket.emit("news", "title", "1");
  // @ts-expect-error missing argument
  socket.emit("news", "title");
  // @ts-expect-error not an event of ServerToClientEvents
  socket.emit("unknown");
  // @ts-expect-error "hello" is something the client sends, not receives
  socket.emit("hello", "x");

  socket.emit("ask", "q", (answer) => {
    const n: number = answer;
    void n;
  });
  socket.timeout(1000).emit("ask", "q", (err, answer) => {
    const e: Error = err;
    const n: number = answer;
    void e;
    void n;
  });
  const answer: Promise<number> = socket.emitWithAck("ask", "q");
  const answerWithTimeout: Promise<number> = socket.timeout(1000).emitWithAck("ask", "q");
  // @ts-expect-error the answer is a number
  const wrongAnswer: Promise<string> = socket.emitWithAck("ask", "q");
  // @ts-expect-error "news" has no acknowledgement
  socket.emitWithAck("news", "t", 1);
  void answer;
  void answerWithTimeout;
  void wrongAnswer;

  // --- socket data ---------------------------------------------------------------------------

  socket.data.user = "alice";
  socket.data.age = 30;
  // @ts-expect-error age is a number
  socket.data.age = "thirty";
  // @ts-expect-error not a field of SocketData
  socket.data.unknown = 1;

  // --- broadcasting from the socket ------------------------------------------------------------

  socket.broadcast.emit("news", "b", 2);
  socket.to("room").emit("news", "r", 3);
  socket.except("room").emit("noArgs");
  // @ts-expect-error wrong argument type
  socket.broadcast.emit("news", 1, 2);

  const rooms: Set<string> = socket.rooms;
  void rooms;
  socket.join("room");
  socket.join(["a", "b"]);
  socket.leave("room");
  socket.disconnect(true);
});

// --- server-level broadcasts ---------------------------------------------------------------

io.emit("news", "all", 1);
io.to("room").emit("news", "room", 2);
io.in(["a", "b"]).except("c").emit("noArgs");
io.local.volatile.compress(false).emit("bin", Buffer.alloc(1));
// @ts-expect-error wrong argument type
io.emit("news", "all", "1");
// @ts-expect-error broadcasting an event with an acknowledgement requires timeout()
io.emit("ask", "q", () => undefined);

io.timeout(1000).emit("ask", "q", (err, answers) => {
  const e: Error = err;
  const list: number[] = answers;
  void e;
  void list;
});
const allAnswers: Promise<number[]> = io.timeout(1000).emitWithAck("ask", "q");
// @ts-expect-error broadcast acks resolve with one answer per client
const singleAnswer: Promise<number> = io.timeout(1000).emitWithAck("ask", "q");
void allAnswers;
void singleAnswer;

// --- broadcast acknowledgements: one response per client, one array deep ------------------------

io.to("room").timeout(500).emit("ask", "q", (err, answers) => {
  const e: Error = err;
  const list: number[] = answers;
  void e;
  void list;
});
io.timeout(500).to("room").emit("ask", "q", (err, answers) => {
  const list: number[] = answers;
  void list;
});
io.except("room").volatile.timeout(500).emit("ask", "q", (_err, answers) => {
  // @ts-expect-error an array of numbers, not of arrays
  const nested: number[][] = answers;
  void nested;
});
io.of("/admin").to("room").timeout(500).emit("ask", "q", (_err, answers) => {
  const list: number[] = answers;
  void list;
});
// only the first argument of each client's acknowledgement is collected
io.timeout(500).emit("pair", (_err, names) => {
  const list: string[] = names;
  void list;
});
// @ts-expect-error the second argument of the acknowledgement is not collected
io.timeout(500).emit("pair", (_err: Error, _names: string[], _ages: number[]) => undefined);
const roomAnswers: Promise<number[]> = io.to("room").timeout(500).emitWithAck("ask", "q");
const nsAnswers: Promise<number[]> = io.of("/admin").in("room").timeout(500).emitWithAck("ask", "q");
// @ts-expect-error broadcast acks resolve with an array of answers, not an array of arrays
const nestedAnswers: Promise<number[][]> = io.to("room").timeout(500).emitWithAck("ask", "q");
void roomAnswers;
void nsAnswers;
void nestedAnswers;
io.on("connection", (socket) => {
  socket.broadcast.timeout(500).emit("ask", "q", (err, answers) => {
    const e: Error = err;
    const list: number[] = answers;
    void e;
    void list;
  });
  socket.to("room").timeout(500).emit("ask", "q", (_err, answers) => {
    const list: number[] = answers;
    void list;
  });
  const fromSocket: Promise<number[]> = socket.to("room").timeout(500).emitWithAck("ask", "q");
  const fromBroadcast: Promise<number[]> = socket.broadcast.timeout(500).emitWithAck("ask", "q");
  // @ts-expect-error an array of answers, not an array of arrays
  const nestedFromSocket: Promise<number[][]> = socket.except("room").timeout(500).emitWithAck("ask", "q");
  void fromSocket;
  void fromBroadcast;
  void nestedFromSocket;
});

const operator: BroadcastOperator<any, SocketData> = io.to("room");
void operator;

// --- utility methods -----------------------------------------------------------------------

async function utilities(): Promise<void> {
  const sockets: RemoteSocket<ServerToClientEvents, SocketData>[] = await io.fetchSockets();
  for (const remote of sockets) {
    const name: string = remote.data.user;
    void name;
    // @ts-expect-error age is a number
    const age: string = remote.data.age;
    void age;
    remote.emit("news", "direct", 1);
    // @ts-expect-error wrong argument type
    remote.emit("news", 1, 1);
    // a remote socket's acknowledgement is its single answer
    remote.timeout(500).emit("ask", "q", (err, answer) => {
      const e: Error = err;
      const n: number = answer;
      void e;
      void n;
    });
    remote.join("r");
    remote.leave("r");
    remote.disconnect();
  }
  io.socketsJoin("room");
  io.in("room").socketsLeave(["a", "b"]);
  io.except("room").disconnectSockets(true);
}
void utilities;

// --- server-side events ----------------------------------------------------------------------

io.serverSideEmit("sync", 2);
// @ts-expect-error version is a number
io.serverSideEmit("sync", "2");
// @ts-expect-error not an inter-server event
io.serverSideEmit("news", "t", 1);
io.serverSideEmit("askPeers", (err, loads) => {
  const e: Error = err;
  const list: number[] = loads;
  void e;
  void list;
});
const peerLoads: Promise<number[]> = io.serverSideEmitWithAck("askPeers");
void peerLoads;
io.on("sync", (version) => {
  const v: number = version;
  void v;
});

// --- namespaces and middleware -------------------------------------------------------------

const admin: Namespace<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData> = io.of("/admin");
admin.use((socket, next) => {
  const user: string = socket.data.user;
  void user;
  const err: ExtendedError = new Error("not authorized");
  err.data = { reason: "token" };
  next(err);
});
admin.on("connection", (socket) => {
  socket.emit("news", "admin", 1);
  // @ts-expect-error wrong argument type
  socket.emit("news", "admin", "1");
});
admin.to("room").emit("noArgs");
io.use((socket, next) => {
  socket.data.age = 1;
  next();
});
io.on("new_namespace", (nsp) => {
  const name: string = nsp.name;
  void name;
});

// --- untyped server: anything goes ---------------------------------------------------------

const loose = new Server<DefaultEventsMap, DefaultEventsMap>();
loose.emit("anything", 1, "two", { three: 3 });
loose.on("connection", (socket) => {
  socket.on("whatever", (...args: any[]) => void args);
  socket.emit("whatever", 1, 2, 3);
  socket.data.free = "form";
});

export {};
