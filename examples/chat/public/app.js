// Browser side of the tidewire chat demo. Plain JavaScript, no build step:
// `io` comes from /socket.io/socket.io.js, served by the realtime server.
(() => {
  "use strict";

  const MAX_FILE_BYTES = 512 * 1024;
  const MAX_SHOWN = 200; // messages kept on screen
  const ACK_TIMEOUT = 5000;
  const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

  const $ = (id) => document.getElementById(id);
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };

  const socket = io();
  // Exposed for the browser tests and for poking around in the console.
  window.socket = socket;

  const state = {
    nick: null,
    room: null,
    rooms: ["general", "random", "help"],
    chosenRoom: "general",
    typers: new Map(), // nick -> expiry timer
  };

  // ---------- helpers ----------

  function colorFor(name) {
    let hash = 0;
    for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
    return `hsl(${hash % 360} 55% 48%)`;
  }

  function avatar(name) {
    const node = el("span", "avatar", [...name][0]?.toUpperCase() ?? "?");
    node.style.background = colorFor(name);
    return node;
  }

  function clock(time) {
    return new Date(time).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function formatBytes(n) {
    return n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`;
  }

  function scrollToEnd() {
    const list = $("messages");
    list.scrollTop = list.scrollHeight;
  }

  /** Appends to the message list, dropping (and freeing) the oldest entries. */
  function appendItem(item) {
    const list = $("messages");
    list.append(item);
    while (list.children.length > MAX_SHOWN) {
      const old = list.firstElementChild;
      old.querySelectorAll("img, a[download]").forEach((n) => URL.revokeObjectURL(n.src || n.href));
      old.remove();
    }
    scrollToEnd();
  }

  // ---------- rendering ----------

  function renderMessage({ id, nick, text, time }, { mine = false, pending = false } = {}) {
    const item = el("li", `message${mine ? " mine" : ""}${pending ? " pending" : ""}`);
    if (id !== undefined) item.dataset.id = String(id);
    const bubble = el("div", "bubble");
    const meta = el("div", "meta");
    meta.append(el("span", "nick", nick), el("time", "", pending ? "sending…" : clock(time)));
    bubble.append(meta, el("div", "text", text));
    item.append(avatar(nick), bubble);
    appendItem(item);
    return item;
  }

  function renderSystem(text) {
    appendItem(el("li", "system", text));
  }

  function renderFile(file) {
    const mine = file.nick === state.nick;
    const item = el("li", `message file${mine ? " mine" : ""}`);
    item.dataset.id = String(file.id);
    item.dataset.size = String(file.data.byteLength);
    const bubble = el("div", "bubble");
    const meta = el("div", "meta");
    meta.append(el("span", "nick", file.nick), el("time", "", clock(file.time)));
    const body = el("div", "attachment");
    if (IMAGE_TYPES.has(file.type)) {
      const img = el("img");
      img.alt = file.name;
      img.src = URL.createObjectURL(new Blob([file.data], { type: file.type }));
      img.addEventListener("load", scrollToEnd, { once: true });
      body.append(img);
    } else {
      // Anything else is offered as a download, never rendered.
      const link = el("a", "", `⬇ ${file.name}`);
      link.href = URL.createObjectURL(new Blob([file.data], { type: "application/octet-stream" }));
      link.download = file.name;
      body.append(link);
    }
    body.append(el("div", "size", `${file.name} · ${formatBytes(file.data.byteLength)}`));
    bubble.append(meta, body);
    item.append(avatar(file.nick), bubble);
    appendItem(item);
  }

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
        button.addEventListener("click", () => room !== state.room && join(state.nick, room));
        item.append(button);
        return item;
      }),
    );
  }

  function renderUsers(users) {
    $("user-count").textContent = String(users.length);
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

  function renderStatus() {
    const dot = $("status-dot");
    if (socket.connected) {
      dot.className = "dot online";
      $("status-text").textContent = `connected · ${socket.io.engine.transport.name}`;
    } else {
      dot.className = "dot offline";
      $("status-text").textContent = "reconnecting…";
    }
  }

  // ---------- joining ----------

  function showJoinError(message) {
    const box = $("join-error");
    box.textContent = message;
    box.hidden = false;
  }

  function join(nick, room) {
    $("join-button").disabled = true;
    socket.timeout(ACK_TIMEOUT).emit("join", { nick, room }, (err, res) => {
      $("join-button").disabled = false;
      if (err) return showJoinError("The server did not answer. Check your connection and try again.");
      if (!res.ok) {
        if (state.room) renderSystem(res.error);
        else showJoinError(res.error);
        return;
      }
      state.nick = res.nick;
      state.room = res.room;
      if (!state.rooms.includes(res.room)) state.rooms.push(res.room);
      state.typers.forEach((timer) => clearTimeout(timer));
      state.typers.clear();
      history.replaceState(null, "", `#${res.room}`);

      $("join").hidden = true;
      $("chat").hidden = false;
      $("room-title").textContent = `# ${res.room}`;
      $("me").textContent = res.nick;
      $("messages").replaceChildren();
      for (const message of res.history) renderMessage(message, { mine: message.nick === res.nick });
      renderSystem(`You joined #${res.room}`);
      renderRooms();
      renderUsers(res.users);
      renderTyping();
      $("text").focus();
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
    if (room) join(state.nick, room);
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
    if (typingSentAt !== 0) socket.emit("typing", false);
    typingSentAt = 0;
  }

  $("text").addEventListener("input", () => {
    if (!$("text").value) return stopTyping();
    const now = Date.now();
    if (now - typingSentAt > 2000) {
      typingSentAt = now;
      socket.emit("typing", true);
    }
    clearTimeout(typingStopTimer);
    typingStopTimer = setTimeout(stopTyping, 3000);
  });

  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (!text) return;
    $("text").value = "";
    stopTyping();
    const item = renderMessage({ nick: state.nick, text, time: Date.now() }, { mine: true, pending: true });
    socket.timeout(ACK_TIMEOUT).emit("message", text, (err, res) => {
      item.classList.remove("pending");
      const time = item.querySelector("time");
      if (err || !res.ok) {
        item.classList.add("failed");
        time.textContent = err ? "not delivered (no answer from the server)" : `not delivered: ${res.error}`;
        return;
      }
      item.dataset.id = String(res.message.id);
      time.textContent = clock(res.message.time);
    });
  });

  function sendFile(name, type, data) {
    if (data.byteLength > MAX_FILE_BYTES) {
      renderSystem(`${name} is ${formatBytes(data.byteLength)}; files are limited to ${formatBytes(MAX_FILE_BYTES)}.`);
      return;
    }
    // The ArrayBuffer travels as a binary attachment; the server sends it back
    // to the whole room, so the copy shown here is the one that made the trip.
    socket.timeout(10000).emit("file", { name, type, data }, (err, res) => {
      if (err) renderSystem(`${name} was not delivered (no answer from the server).`);
      else if (!res.ok) renderSystem(`${name} was not delivered: ${res.error}`);
    });
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
    renderMessage(message);
  });

  socket.on("file", renderFile);
  socket.on("system", ({ text }) => renderSystem(text));
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

  socket.on("connect", () => {
    renderStatus();
    socket.io.engine.once("upgrade", renderStatus);
    // After a reconnection, take the same seat again.
    if (state.room) join(state.nick, state.room);
  });
  socket.on("disconnect", renderStatus);

  // A room in the URL (#help) preselects it.
  const fromHash = decodeURIComponent(location.hash.slice(1));
  if (fromHash) {
    state.chosenRoom = fromHash;
    if (!state.rooms.includes(fromHash)) $("room").value = fromHash;
  }
  renderRoomChoices();
})();
