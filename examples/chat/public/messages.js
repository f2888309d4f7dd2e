// The message list: server entries (text and files) in id order, system
// notices, and this page's own messages that the server has not confirmed
// yet ("local" items, kept at the bottom until they are).
//
// An entry is shown at most once: its server id is checked first, so a
// replayed broadcast, a history reload and an acknowledgement can all bring
// the same message without doubling it.
import { $, avatar, clock, el, formatBytes } from "./dom.js";

const MAX_SHOWN = 200; // items kept on screen
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

const list = () => $("messages");

function scrollToEnd() {
  const node = list();
  node.scrollTop = node.scrollHeight;
}

function release(item) {
  item.querySelectorAll("img, a[download]").forEach((n) => URL.revokeObjectURL(n.src || n.href));
}

/** Drops the oldest confirmed items past MAX_SHOWN, freeing their object URLs. */
function trim() {
  const node = list();
  let item = node.firstElementChild;
  while (node.children.length > MAX_SHOWN && item) {
    const next = item.nextElementSibling;
    if (!item.classList.contains("local")) {
      release(item);
      item.remove();
    }
    item = next;
  }
}

const byId = (id) => list().querySelector(`li[data-id="${id}"]`);
const byCid = (cid) => [...list().querySelectorAll("li.local")].find((li) => li.dataset.cid === cid) ?? null;

/** Inserts in id order, before this page's unconfirmed items; without an id, just before those. */
function place(item, id) {
  const node = list();
  let before = null;
  for (const other of node.children) {
    if (other.classList.contains("local") || (id !== undefined && other.dataset.id && Number(other.dataset.id) > id)) {
      before = other;
      break;
    }
  }
  node.insertBefore(item, before);
  trim();
  scrollToEnd();
}

function bubbleFor(nick, mine, className) {
  const item = el("li", `message${className ? ` ${className}` : ""}${mine ? " mine" : ""}`);
  const bubble = el("div", "bubble");
  const meta = el("div", "meta");
  meta.append(el("span", "nick", nick), el("time"));
  bubble.append(meta);
  item.append(avatar(nick), bubble);
  return item;
}

function textItem(entry, mine) {
  const item = bubbleFor(entry.nick, mine);
  item.dataset.id = String(entry.id);
  item.querySelector("time").textContent = clock(entry.time);
  item.querySelector(".bubble").append(el("div", "text", entry.text));
  return item;
}

function fileBody(name, type, data) {
  const body = el("div", "attachment");
  if (IMAGE_TYPES.has(type)) {
    const img = el("img");
    img.alt = name;
    img.src = URL.createObjectURL(new Blob([data], { type }));
    img.addEventListener("load", scrollToEnd, { once: true });
    body.append(img);
  } else {
    // Anything else is offered as a download, never rendered.
    const link = el("a", "", `⬇ ${name}`);
    link.href = URL.createObjectURL(new Blob([data], { type: "application/octet-stream" }));
    link.download = name;
    body.append(link);
  }
  body.append(el("div", "size", `${name} · ${formatBytes(data.byteLength)}`));
  return body;
}

function fileItem(entry, mine) {
  const item = bubbleFor(entry.nick, mine, "file");
  item.dataset.id = String(entry.id);
  item.dataset.size = String(entry.data.byteLength);
  item.querySelector("time").textContent = clock(entry.time);
  item.querySelector(".bubble").append(fileBody(entry.name, entry.type, entry.data));
  return item;
}

export function clear() {
  for (const item of list().children) release(item);
  list().replaceChildren();
}

export function system(text, className = "") {
  place(el("li", `system${className ? ` ${className}` : ""}`, text));
}

/**
 * Shows a server entry (`kind` "text" or "file") unless it is already on
 * screen. This page's own unconfirmed copy (same `cid`) becomes it, in place.
 * @returns {boolean} whether something new appeared
 */
export function show(entry, me) {
  if (byId(entry.id)) return false;
  const mine = entry.nick === me;
  const item = entry.kind === "file" ? fileItem(entry, mine) : textItem(entry, mine);
  const local = entry.cid ? byCid(entry.cid) : null;
  if (local) {
    release(local);
    local.replaceWith(item);
    return false;
  }
  place(item, entry.id);
  return true;
}

/** Shows a room's history; returns how many entries were not on screen yet. */
export function merge(entries, me) {
  let added = 0;
  for (const entry of entries) if (show(entry, me)) added++;
  return added;
}

/** This page's own message or file, before the server confirmed it. */
export function local({ cid, nick, kind, text, name, type, data }) {
  const item = bubbleFor(nick, true, `local${kind === "file" ? " file" : ""}`);
  item.dataset.cid = cid;
  const bubble = item.querySelector(".bubble");
  if (kind === "file") bubble.append(fileBody(name, type, data));
  else bubble.append(el("div", "text", text));
  list().append(item);
  trim();
  scrollToEnd();
}

/**
 * Updates an unconfirmed item: "sending", "waiting" (for the connection) or
 * "failed" (with the reason and a retry button).
 */
export function setLocalState(cid, state, { reason, onRetry } = {}) {
  const item = byCid(cid);
  if (!item) return;
  item.classList.toggle("pending", state !== "failed");
  item.classList.toggle("waiting", state === "waiting");
  item.classList.toggle("failed", state === "failed");
  item.querySelector("time").textContent =
    state === "sending" ? "sending…" : state === "waiting" ? "waiting for the connection…" : `not delivered: ${reason}`;
  item.querySelector("button.retry")?.remove();
  if (state === "failed" && onRetry) {
    const retry = el("button", "retry", "Retry");
    retry.type = "button";
    retry.addEventListener("click", onRetry, { once: true });
    item.querySelector(".bubble").append(retry);
    item.scrollIntoView({ block: "nearest" });
  }
}

/** Removes an unconfirmed item (its room was left). */
export function dropLocal(cid) {
  const item = byCid(cid);
  if (item) {
    release(item);
    item.remove();
  }
}
