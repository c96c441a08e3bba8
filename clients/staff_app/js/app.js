// The staff app: sign in once, pick the room once, hold a button to raise an alert, follow it
// in words until someone acknowledges it. Alerts go through the outbox (outbox.js), which the
// service worker retries while the device is offline. Silent: nothing here makes a sound.

import { Auth, ApiError } from "/clients-common/auth.js";
import { Store } from "/clients-common/idb.js";
import { chooseLanguage, translatePage, translator } from "/clients-common/i18n.js";
import { Stream } from "/clients-common/stream.js";
import { holdToSend } from "./hold.js";
import { flush, newRecord, withdraw } from "./outbox.js";
import { RollCall } from "./roll.js";
import { loadRooms, searchRooms } from "./rooms.js";
import en from "../locales/en.js";
import es from "../locales/es.js";

const CAMPUS_KINDS = new Set(["hold", "secure", "lockdown", "evacuate", "shelter"]);
const OPEN_STATES = new Set(["raised", "acknowledged", "responding"]);
const CANCEL_WINDOW_MS = 30_000;
const SHOWN_MS = 30 * 60_000; // the status list shows the last half hour (and anything unsent)

const language = chooseLanguage(["en", "es"]);
const t = translator({ en, es }, language);
const store = new Store("alertd-app");
const auth = new Auth(store);
const $ = (id) => document.getElementById(id);

const state = {
  room: null, // {id, school_id, label}
  rooms: [],
  records: [], // the outbox, newest first
  alerts: new Map(), // alert id -> the alert as last seen (from answers and the stream)
  campus: new Map(), // open campus-wide alerts at the person's schools
  withdrawn: [],
  cancelling: null, // the record whose cancel form is open
  pendingKind: null, // evacuate / shelter, waiting for their details
  stream: null,
};

const rollCall = new RollCall({ auth, t, show: (which) => show(which), room: () => state.room, onSignedOut: () => signedOut() });

// --- start ---------------------------------------------------------------------------------

document.documentElement.lang = language;
document.title = t("app.title");
translatePage(t);
for (const button of document.querySelectorAll(".kind")) {
  const kind = button.dataset.kind;
  const label = document.createElement("span");
  label.className = "label"; label.textContent = t(`kind.${kind}`);
  const sub = document.createElement("span");
  sub.className = "sub"; sub.textContent = t(`instruction.${kind}`);
  const fill = document.createElement("span");
  fill.className = "fill";
  button.setAttribute("aria-describedby", "hold-hint");
  button.append(fill, label, sub);
  holdToSend(button, { onSend: held, onShort: (k) => { $("hold-feedback").textContent = t("hold.keep", { kind: t(`kind.${k}`) }); } });
}

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/app/sw.js", { scope: "/app/", type: "module" }).catch(() => null);
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data?.type === "outbox") refresh();
  });
}
addEventListener("online", () => { showConnection(); sendQueued(); });
addEventListener("offline", showConnection);
setInterval(() => { renderSent(); if (state.records.some((r) => r.state === "queued")) sendQueued(); }, 1000);
showConnection();
start();

async function start() {
  if (!(await auth.signedIn())) return show("signin");
  state.room = await store.get("room");
  if (!state.room) return pickRoom();
  openPanel();
}

function show(which) {
  for (const id of ["signin", "room-picker", "panel", "roll"]) $(id).hidden = id !== which;
  $("room-line").hidden = !["panel", "roll"].includes(which) || !state.room;
  if (state.room) $("room-line").textContent = t("room.current", { room: state.room.label });
}

function showConnection() { $("offline").hidden = navigator.onLine; renderSent(); }

// --- signing in and the room ---------------------------------------------------------------

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("signin-error").textContent = "";
  try {
    await auth.signIn($("email").value.trim(), $("password").value);
    $("password").value = "";
    start();
  } catch (error) {
    $("signin-error").textContent = t("signin.failed", { message: error.message });
  }
});

async function pickRoom() {
  show("room-picker");
  $("room-list").replaceChildren(item(t("room.loading")));
  try {
    state.rooms = await loadRooms(auth);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return signedOut();
    $("room-list").replaceChildren(item(error.message));
    return;
  }
  renderRooms();
  $("room-search").focus();
}

function item(text) { const li = document.createElement("li"); li.textContent = text; return li; }

function renderRooms() {
  const found = searchRooms(state.rooms, $("room-search").value);
  if (!found.length) return $("room-list").replaceChildren(item(t("room.none")));
  $("room-list").replaceChildren(...found.map((room) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `${room.label} — ${room.where}`;
    button.dataset.roomId = room.id;
    button.addEventListener("click", async () => {
      state.room = { id: room.id, school_id: room.school_id, label: room.label };
      await store.set("room", state.room);
      openPanel();
    });
    li.append(button);
    return li;
  }));
}

$("room-search").addEventListener("input", renderRooms);
$("change-room").addEventListener("click", pickRoom);
$("sign-out").addEventListener("click", async () => { await auth.signOut(); signedOut(); });

function signedOut() {
  state.stream?.stop();
  state.stream = null;
  show("signin");
}

// --- the panel -----------------------------------------------------------------------------

async function openPanel() {
  show("panel");
  await refresh();
  offerPush();
  if (!state.stream) {
    state.stream = new Stream(auth, { onEvent, onSignedOut: signedOut });
    state.stream.start();
  }
  try {
    const open = await auth.get("/v1/alerts?state=raised&state=acknowledged&state=responding&limit=200");
    for (const alert of open.alerts) seen(alert);
    for (const record of state.records) {
      if (record.alert && !state.alerts.has(record.alert.id)) seen(await auth.get(`/v1/alerts/${record.alert.id}`));
    }
  } catch { /* offline: the stream catches up when it connects */ }
  render();
}

function seen(alert) {
  const known = state.alerts.get(alert.id);
  if (known && known.version > alert.version) return;
  state.alerts.set(alert.id, alert);
  const mine = state.room && alert.school_id === state.room.school_id;
  if (CAMPUS_KINDS.has(alert.kind) && OPEN_STATES.has(alert.state) && mine) state.campus.set(alert.id, alert);
  else state.campus.delete(alert.id);
  rollCall.seen(alert);
}

function onEvent(message) {
  if (message.alert) { seen(message.alert); rollCall.event(message); render(); }
}

// A button was held for 1.5 s.
function held(kind) {
  // When the hold completed (epoch ms): bench/app_press.py times from here to the console.
  document.body.dataset.heldAt = String(performance.timeOrigin + performance.now());
  $("hold-feedback").textContent = "";
  if (kind === "evacuate" || kind === "shelter") {
    state.pendingKind = kind;
    $("details-heading").textContent = t(`details.${kind}`);
    $("destination-field").hidden = kind !== "evacuate";
    $("hazard-field").hidden = kind !== "shelter";
    $("destination").required = kind === "evacuate";
    $("details-send").textContent = t("details.send", { kind: t(`kind.${kind}`) });
    $("details").hidden = false;
    (kind === "evacuate" ? $("destination") : $("hazard")).focus();
    return;
  }
  send({ kind });
}

$("details").addEventListener("submit", (event) => {
  event.preventDefault();
  const kind = state.pendingKind;
  $("details").hidden = true;
  state.pendingKind = null;
  if (kind === "evacuate") send({ kind, destination: $("destination").value.trim() });
  else if (kind === "shelter") send({ kind, hazard: $("hazard").value });
});
$("details-back").addEventListener("click", () => { $("details").hidden = true; state.pendingKind = null; });

async function send(details) {
  const body = { ...details, school_id: state.room.school_id, source: "app" };
  if (!CAMPUS_KINDS.has(details.kind) || state.room.id) body.room_id = state.room.id;
  const record = newRecord(body);
  await store.putOutbox(record);
  state.records.unshift(record);
  render();
  sendQueued();
}

// The service worker sends when it controls the page; before it does, the page sends itself.
// Both go through the same locked outbox, so nothing is sent twice.
async function sendQueued() {
  const worker = navigator.serviceWorker?.controller;
  if (worker) { worker.postMessage({ type: "flush" }); return; }
  await flush(store, auth).catch(() => null);
  await refresh();
}

async function refresh() {
  state.records = (await store.outbox()).sort((a, b) => b.created - a.created);
  for (const record of state.records) if (record.alert) seen(state.alerts.get(record.alert.id) ?? record.alert);
  render();
}

// --- what the person sees ------------------------------------------------------------------

function render() { renderCampus(); renderSent(); }

function renderCampus() {
  const open = [...state.campus.values()];
  $("campus").hidden = !open.length;
  $("campus").replaceChildren(...open.map((alert) => {
    const p = document.createElement("p");
    const line = t("campus.line", { kind: t(`kind.${alert.kind}`).toUpperCase(), instruction: t(`instruction.${alert.kind}`) });
    // REAL on a real instruction while a drill is running too: it is not part of the drill.
    const drilling = open.some((a) => a.drill && a.school_id === alert.school_id);
    const marker = alert.drill ? t("drill") : drilling ? t("real") : "";
    p.textContent = (marker ? `${marker} ` : "") + line;
    return p;
  }));
}

function progress(record) {
  if (record.state === "refused") return { text: t("status.refused", { message: record.error }), cls: "not-sent" };
  if (record.state === "queued") {
    if (record.error || !navigator.onLine) return { text: t("status.not_sent"), detail: t("status.not_sent_detail"), cls: "not-sent" };
    return { text: t("status.sending") };
  }
  const alert = state.alerts.get(record.alert.id) ?? record.alert;
  if (alert.state === "cancelled") return { text: t("status.cancelled") };
  if (alert.state === "resolved") return { text: t("status.resolved") };
  if (alert.state === "all_clear") return { text: t("status.all_clear") };
  const responders = alert.responders ?? [];
  const onScene = responders.find((r) => r.status === "on_scene");
  if (onScene) return { text: t("status.on_scene", { name: onScene.actor.name }), cls: "acked" };
  const first = responders[0];
  if (first) return { text: t("status.acknowledged", { name: first.actor.name }), cls: "acked" };
  return { text: t("status.received") };
}

function cancellable(record) {
  if (record.state === "refused") return 0;
  const alert = record.alert ? state.alerts.get(record.alert.id) ?? record.alert : null;
  if (alert && !OPEN_STATES.has(alert.state)) return 0;
  const since = alert ? Date.parse(alert.raised_at) : record.created;
  return Math.max(0, Math.ceil((since + CANCEL_WINDOW_MS - Date.now()) / 1000));
}

function renderSent() {
  if ($("panel").hidden) return;
  const now = Date.now();
  const shown = state.records.filter((r) => r.state === "queued" || now - r.created < SHOWN_MS);
  const items = shown.map((record) => {
    const li = document.createElement("li");
    li.dataset.key = record.key;
    const what = document.createElement("span");
    what.className = "what";
    what.textContent = t("status.alert", { kind: t(`kind.${record.body.kind}`), room: state.room?.id === record.body.room_id ? state.room.label : record.body.room_id ?? "" });
    const { text, detail, cls } = progress(record);
    const status = document.createElement("span");
    status.className = `state ${cls ?? ""}`;
    status.textContent = text;
    li.append(what, status);
    if (detail) { const d = document.createElement("span"); d.className = "hint"; d.textContent = detail; li.append(d); }
    const seconds = cancellable(record);
    if (seconds > 0) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "cancel";
      button.textContent = t("cancel.button", { seconds });
      button.addEventListener("click", () => openCancel(record));
      li.append(button);
    }
    return li;
  });
  for (const text of state.withdrawn) items.push(item(text));
  $("status").hidden = !items.length;
  const list = $("sent");
  // Keep the DOM still when nothing changed: screen readers re-announce replaced text.
  const html = items.map((n) => n.outerHTML).join("");
  if (list.dataset.html !== html) { list.replaceChildren(...items); list.dataset.html = html; }
}

// --- cancelling ----------------------------------------------------------------------------

function openCancel(record) {
  state.cancelling = record;
  $("cancel-error").textContent = "";
  $("cancel").hidden = false;
  $("cancel-reason").focus();
}

$("cancel-keep").addEventListener("click", () => { $("cancel").hidden = true; state.cancelling = null; });
$("cancel").addEventListener("submit", async (event) => {
  event.preventDefault();
  const record = state.cancelling;
  if (!record) return;
  const choice = $("cancel-reason").value;
  const reason = [choice === "other" ? "" : t(`cancel.${choice}`), $("cancel-text").value.trim()].filter(Boolean).join(": ") || t("cancel.mistake");
  try {
    if (record.state === "queued" && await withdraw(store, record.key)) {
      state.withdrawn.unshift(`${t(`kind.${record.body.kind}`)}: ${t("status.withdrawn")}`);
    } else {
      const fresh = await store.getOutbox(record.key);
      const alert = await auth.post(`/v1/alerts/${encodeURIComponent(fresh.alert.id)}/cancel`, { reason });
      seen(alert);
    }
    $("cancel").hidden = true;
    $("cancel-text").value = "";
    state.cancelling = null;
    await refresh();
  } catch (error) {
    $("cancel-error").textContent = t("cancel.failed", { message: error.message });
  }
});

// --- Web Push: campus-wide instructions while the app is closed -----------------------------

async function offerPush() {
  if (!("PushManager" in window) || !navigator.serviceWorker || Notification.permission === "denied") return;
  const registration = await navigator.serviceWorker.ready;
  const current = await registration.pushManager.getSubscription().catch(() => null);
  if (current && (await store.get("push_subscribed"))) { $("push-state").textContent = t("push.on"); return; }
  $("push-offer").hidden = false;
}

$("push-offer").addEventListener("click", async () => {
  try {
    if ((await Notification.requestPermission()) !== "granted") throw new Error(Notification.permission);
    const registration = await navigator.serviceWorker.ready;
    const { public_key: key } = await auth.get("/v1/push/key");
    const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    let device = await store.get("device_id");
    if (!device) { device = crypto.randomUUID(); await store.set("device_id", device); }
    await auth.request("PUT", `/v1/push/subscriptions/${device}`, subscription.toJSON());
    await store.set("push_subscribed", true);
    $("push-offer").hidden = true;
    $("push-state").textContent = t("push.on");
  } catch (error) {
    $("push-state").textContent = t("push.failed", { message: error.message });
  }
});
