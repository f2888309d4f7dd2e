// Browser side of the tidewire chat demo. Plain JavaScript modules, no build
// step: `io` comes from /socket.io/socket.io.js, served by the realtime server.
import { $, avatar, el, formatBytes, newClientId } from "./dom.js";
import * as messages from "./messages.js";
import { Outbox } from "./outbox.js";

const MAX_FILE_BYTES = 512 * 1024;
const JOIN_TIMEOUT = 5000;
const RTT_EVERY_MS = 5000;

const socket = io();
// Exposed for the browser tests and for poking around in the console.
window.socket = socket;

const state = {
  nick: null,
  room: null,
  /** Joined on the current connection (or the session was recovered). */
  joined: false,
  rooms: ["general", "random", "help"],
  chosenRoom: "general",
  typers: new Map(), // nick -> expiry timer
  /** Transport the current connection started on, and the one it upgraded to. */
  transport: { first: null, upgraded: null },
  /** Last measured round-trip time, ms. */
  rtt: null,
};

const outbox = new Outbox(socket, {
  ready: () => socket.connected && state.joined,
  onConfirmed(item, res) {
    if (item.kind === "text") messages.show(res.message, state.nick);
    // A file is normally confirmed by its own broadcast, which arrives first;
    // otherwise (an answer to a resend) show the bytes this page has.
    else messages.show({ kind: "file", id: res.id, cid: item.cid, nick: state.nick, time: Date.now(), ...item.payload }, state.nick);
  },
});

// ---------- side panel: rooms, people, status ----------

function renderRoomChoices() {
  const box = $("room-choices");
  box.replaceChildren(
    ...state.rooms.map((room) => {
      const chip = el("button", "chip", `# ${room}`);
      chip.type = "button";
      chip.setAttribute("role", "radio");
      chip.setAttribute("aria-checked", String(room === state.chosenRoom && !$("room").value.trim()));
      chip.addEventListener("click", () => {
        state.chosenRoom = room;
        $("room").value = "";
        renderRoomChoices();
      });
      return chip;
    }),
  );
}

function renderRooms() {
  $("rooms").replaceChildren(
    ...state.rooms.map((room) => {
      const item = el("li");
      const button = el("button", "", `# ${room}`);
      button.type = "button";
      if (room === state.room) button.setAttribute("aria-current", "true");
      button.addEventListener("click", () => {
        closeDrawer();
        if (room !== state.room) join(state.nick, room);
      });
      item.append(button);
      return item;
    }),
  );
}

function renderUsers(users) {
  $("user-count").textContent = String(users.length);
  $("menu-count").textContent = String(users.length);
  $("users").replaceChildren(
    ...users.map((nick) => {
      const item = el("li", nick === state.nick ? "me" : "");
      item.append(avatar(nick), el("span", "name", nick));
      return item;
    }),
  );
}

function renderTyping() {
  const names = [...state.typers.keys()];
  let text = "";
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = "Several people are typing…";
  $("typing").textContent = text;
}

/** Status line: connected or not, the transport (and its upgrade), the round-trip time. */
function renderStatus() {
  const online = socket.connected;
  for (const dot of document.querySelectorAll(".dot")) {
    dot.classList.toggle("online", online);
    dot.classList.toggle("offline", !online);
  }
  $("status-text").textContent = online ? "connected" : "reconnecting…";
  const { first, upgraded } = state.transport;
  $("status-transport").textContent = !online ? "" : upgraded ? `${first} → ${upgraded}` : (first ?? "");
  $("status-transport").title = upgraded ? `started on ${first}, upgraded to ${upgraded}` : "";
  $("status-rtt").textContent = online && state.rtt !== null ? `${state.rtt} ms` : "";
  $("connection-lost").hidden = online || !state.room;
}

/** Times an acknowledged "ping" (the whole socket.io round trip, on the current transport). */
function measureRtt() {
  if (!socket.connected) return;
  const started = performance.now();
  socket.timeout(RTT_EVERY_MS).emit("ping", (err) => {
    if (err) return;
    state.rtt = Math.max(1, Math.round(performance.now() - started));
    renderStatus();
  });
}
setInterval(measureRtt, RTT_EVERY_MS);

// ---------- phone layout: the side panel is a drawer ----------

function openDrawer() {
  $("chat").classList.add("drawer-open");
  $("menu-toggle").setAttribute("aria-expanded", "true");
  $("backdrop").hidden = false;
}

function closeDrawer() {
  $("chat").classList.remove("drawer-open");
  $("menu-toggle").setAttribute("aria-expanded", "false");
  $("backdrop").hidden = true;
}

$("menu-toggle").addEventListener("click", () =>
  $("chat").classList.contains("drawer-open") ? closeDrawer() : openDrawer(),
);
$("backdrop").addEventListener("click", closeDrawer);
$("drawer-close").addEventListener("click", closeDrawer);
document.addEventListener("keydown", (event) => event.key === "Escape" && closeDrawer());

// ---------- joining ----------

function showJoinError(message) {
  const box = $("join-error");
  box.textContent = message;
  box.hidden = false;
  $("chat").hidden = true;
  $("join").hidden = false;
}

/**
 * Joins (or rejoins, after a reconnection without recovery) a room. The same
 * room keeps what is on screen and adds what the server's history has that
 * the page does not; another room starts from its history.
 */
function join(nick, room, { rejoin = false } = {}) {
  $("join-button").disabled = true;
  socket.timeout(JOIN_TIMEOUT).emit("join", { nick, room }, (err, res) => {
    $("join-button").disabled = false;
    if (err) {
      // Still connected: try again shortly; otherwise the next connection does.
      if (rejoin) return setTimeout(() => socket.connected && !state.joined && join(nick, room, { rejoin }), 2000);
      return showJoinError("The server did not answer. Check your connection and try again.");
    }
    if (!res.ok) {
      if (!$("chat").hidden && !rejoin) messages.system(res.error);
      else showJoinError(res.error);
      return;
    }
    const sameRoom = res.room === state.room;
    state.nick = res.nick;
    state.room = res.room;
    state.joined = true;
    if (!state.rooms.includes(res.room)) state.rooms.push(res.room);
    state.typers.forEach((timer) => clearTimeout(timer));
    state.typers.clear();
    history.replaceState(null, "", `#${res.room}`);

    $("join").hidden = true;
    $("chat").hidden = false;
    $("room-title").textContent = `# ${res.room}`;
    $("me").textContent = res.nick;
    if (!sameRoom) {
      messages.clear();
      const dropped = outbox.dropOtherRooms(res.room);
      messages.merge(res.history, res.nick);
      if (dropped) messages.system(`${dropped} unsent message(s) for the previous room were discarded`);
      messages.system(`You joined #${res.room}`);
    } else {
      const added = messages.merge(res.history, res.nick);
      if (rejoin) {
        messages.system(
          `Reconnected with a new session: the room history came back from the server` +
            (added ? ` (${added} you had not seen)` : ""),
          "reconnected",
        );
      }
    }
    for (const entry of res.history) if (entry.cid) outbox.confirmed(entry.cid);
    outbox.flush();
    renderRooms();
    renderUsers(res.users);
    renderTyping();
    renderStatus();
    if (!rejoin) $("text").focus();
  });
}

$("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  $("join-error").hidden = true;
  const typed = $("room").value.trim();
  join($("nick").value, typed || state.chosenRoom);
});

$("room").addEventListener("input", renderRoomChoices);

$("switch-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const room = $("switch-room").value.trim();
  if (room) {
    closeDrawer();
    join(state.nick, room);
  }
  $("switch-room").value = "";
});

$("leave").addEventListener("click", () => {
  $("chat").hidden = true;
  $("join").hidden = false;
  $("nick").value = state.nick ?? "";
  $("nick").focus();
});

// ---------- sending ----------

let typingSentAt = 0;
let typingStopTimer;

function stopTyping() {
  clearTimeout(typingStopTimer);
  if (typingSentAt !== 0 && socket.connected) socket.emit("typing", false);
  typingSentAt = 0;
}

$("text").addEventListener("input", () => {
  if (!$("text").value) return stopTyping();
  const now = Date.now();
  // Volatile on the server side; nothing to say while disconnected.
  if (now - typingSentAt > 2000 && socket.connected) {
    typingSentAt = now;
    socket.emit("typing", true);
  }
  clearTimeout(typingStopTimer);
  typingStopTimer = setTimeout(stopTyping, 3000);
});

/** Shows the item at once and hands it to the outbox, which sends it now or once connected. */
function post(kind, payload) {
  const cid = newClientId();
  messages.local({ cid, nick: state.nick, kind, ...payload });
  const refused = outbox.add(cid, kind, state.room, payload);
  if (refused) messages.setLocalState(cid, "failed", { reason: refused });
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  stopTyping();
  post("text", { text });
});

function sendFile(name, type, data) {
  if (data.byteLength > MAX_FILE_BYTES) {
    messages.system(`${name} is ${formatBytes(data.byteLength)}; files are limited to ${formatBytes(MAX_FILE_BYTES)}.`);
    return;
  }
  // The ArrayBuffer travels as a binary attachment; the server sends it back
  // to the whole room, and that copy replaces the local preview.
  post("file", { name, type, data });
}

$("file").addEventListener("change", async () => {
  const file = $("file").files[0];
  $("file").value = "";
  if (file) sendFile(file.name, file.type, await file.arrayBuffer());
});

/** Draws a small random wave picture and sends it as a PNG. */
$("doodle").addEventListener("click", () => {
  const canvas = document.createElement("canvas");
  canvas.width = 240;
  canvas.height = 140;
  const ctx = canvas.getContext("2d");
  const hue = Math.floor(Math.random() * 360);
  const sky = ctx.createLinearGradient(0, 0, 240, 140);
  sky.addColorStop(0, `hsl(${hue} 80% 70%)`);
  sky.addColorStop(1, `hsl(${(hue + 60) % 360} 75% 55%)`);
  ctx.fillStyle = sky;
  ctx.fillRect(0, 0, 240, 140);
  for (let band = 0; band < 4; band++) {
    ctx.beginPath();
    const base = 60 + band * 20;
    ctx.moveTo(0, base);
    for (let x = 0; x <= 240; x += 10) ctx.lineTo(x, base + Math.sin(x / 20 + band + hue) * 8);
    ctx.lineTo(240, 140);
    ctx.lineTo(0, 140);
    ctx.fillStyle = `hsl(${(hue + 180 + band * 12) % 360} 60% ${55 - band * 8}% / 0.55)`;
    ctx.fill();
  }
  ctx.fillStyle = "rgba(255,255,255,0.9)";
  ctx.font = "bold 18px system-ui, sans-serif";
  ctx.fillText(`~ ${state.nick ?? "tidewire"} ~`, 14, 30);
  canvas.toBlob(async (blob) => {
    if (blob) sendFile("doodle.png", "image/png", await blob.arrayBuffer());
  }, "image/png");
});

// ---------- incoming ----------

socket.on("rooms", (rooms) => {
  const added = rooms.filter((room) => typeof room === "string" && !state.rooms.includes(room));
  if (added.length === 0) return;
  state.rooms.push(...added);
  renderRoomChoices();
  renderRooms();
});

socket.on("message", (message) => {
  state.typers.delete(message.nick);
  renderTyping();
  messages.show(message, state.nick);
});

socket.on("file", (file) => {
  messages.show(file, state.nick);
  if (file.cid) outbox.confirmed(file.cid);
});

socket.on("system", ({ text }) => messages.system(text));
socket.on("presence", ({ room, users }) => room === state.room && renderUsers(users));

socket.on("typing", ({ nick, typing }) => {
  clearTimeout(state.typers.get(nick));
  if (typing) {
    // A lost "stopped typing" notice must not leave the indicator on forever.
    state.typers.set(
      nick,
      setTimeout(() => {
        state.typers.delete(nick);
        renderTyping();
      }, 5000),
    );
  } else {
    state.typers.delete(nick);
  }
  renderTyping();
});

// Each new engine connection: the transport it starts on, and its upgrade
// (which may complete before the socket's "connect" event).
socket.io.on("open", () => {
  const engine = socket.io.engine;
  state.transport = { first: engine.transport.name, upgraded: null };
  state.rtt = null;
  engine.once("upgrade", (transport) => {
    state.transport.upgraded = transport.name;
    renderStatus();
    measureRtt();
  });
});

socket.on("connect", () => {
  if (state.room) {
    if (socket.recovered) {
      // Same session: the server kept the room, and replayed what was missed.
      state.joined = true;
      messages.system("Reconnected, nothing missed", "reconnected");
      outbox.flush();
    } else {
      // A new session (the server restarted, or the drop lasted too long).
      join(state.nick, state.room, { rejoin: true });
    }
  }
  renderStatus();
  measureRtt();
});

socket.on("disconnect", () => {
  state.joined = false;
  outbox.disconnected();
  state.typers.forEach((timer) => clearTimeout(timer));
  state.typers.clear();
  renderTyping();
  renderStatus();
});

// A room in the URL (#help) preselects it.
const fromHash = decodeURIComponent(location.hash.slice(1));
if (fromHash) {
  state.chosenRoom = fromHash;
  if (!state.rooms.includes(fromHash)) $("room").value = fromHash;
}
renderRoomChoices();
