// The SRO app: live alerts of the officer's schools (the stream, resumed by event id), each
// with acknowledge / en route / on scene / resolve, notes, and the floor plan of its floor
// with the room marked (the console's FloorPlan). Location is shared only while responding.

import { Auth } from "/clients-common/auth.js";
import { Store } from "/clients-common/idb.js";
import { chooseLanguage, translatePage, translator } from "/clients-common/i18n.js";
import { Stream } from "/clients-common/stream.js";
import { FloorPlan } from "/console/js/floorplan.js";
import { LocationShare, Siren } from "./respond.js";
import en from "../locales/en.js";
import es from "../locales/es.js";

const OPEN_STATES = new Set(["raised", "acknowledged", "responding"]);
const CAMPUS_KINDS = new Set(["hold", "secure", "lockdown", "evacuate", "shelter"]);

const language = chooseLanguage(["en", "es"]);
const t = translator({ en, es }, language);
const store = new Store("alertd-sro");
const auth = new Auth(store);
const $ = (id) => document.getElementById(id);
const plan = new FloorPlan($("plan"));
const siren = new Siren();
const location_ = new LocationShare(showLocation, sendPendingLocation);

const state = {
  me: null,
  alerts: new Map(),
  trees: new Map(), // school id -> its buildings, floors and rooms
  places: new Map(), // room id -> {room, floor, building, school}
  locationOwed: null, // the alert whose last status report went without a position
  selected: new URLSearchParams(window.location.search).get("alert"),
  notes: [],
  stream: null,
};

document.documentElement.lang = language;
document.title = t("app.title");
translatePage(t);
showLocation(location_.state);
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sro/sw.js", { scope: "/sro/", type: "module" }).catch(() => null);
}
start();

async function start() {
  if (!(await auth.signedIn())) { show("signin"); return; }
  state.me = await store.get("me");
  show(state.selected ? "detail" : "list");
  await load();
  state.stream ??= new Stream(auth, { onEvent, onState: connection, onSignedOut: signedOut });
  state.stream.start();
  offerPush();
}

function show(which) {
  for (const id of ["signin", "list", "detail"]) $(id).hidden = id !== which;
}

function connection(value) {
  $("connection").dataset.state = value;
  $("connection").textContent = t(`connection.${value}`);
}
connection("connecting");

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  siren.unlock(); // signing in is the gesture that lets the app make sound
  $("signin-error").textContent = "";
  try {
    state.me = await auth.signIn($("email").value.trim(), $("password").value);
    $("password").value = "";
    start();
  } catch (error) {
    $("signin-error").textContent = t("signin.failed", { message: error.message });
  }
});

$("sign-out").addEventListener("click", async () => { await auth.signOut(); signedOut(); });
function signedOut() { state.stream?.stop(); state.stream = null; location_.responding(false); show("signin"); }

$("sound").addEventListener("click", () => {
  siren.unlock();
  $("tool-state").textContent = t("sound.on");
});

async function load() {
  const { schools } = await auth.get("/v1/schools");
  for (const school of schools) {
    const tree = await auth.get(`/v1/schools/${encodeURIComponent(school.id)}`);
    state.trees.set(school.id, tree);
    for (const building of tree.buildings) {
      for (const floor of building.floors) {
        for (const room of floor.rooms) state.places.set(room.id, { room, floor, building, school: tree });
      }
    }
  }
  const open = await auth.get("/v1/alerts?state=raised&state=acknowledged&state=responding&limit=500");
  for (const alert of open.alerts) state.alerts.set(alert.id, alert);
  if (state.selected) await openDetail(state.selected);
  render();
}

function onEvent(message, { replayed }) {
  const alert = message.alert;
  if (!alert) return;
  const known = state.alerts.get(alert.id);
  if (known && known.version > alert.version) return;
  state.alerts.set(alert.id, alert);
  if (message.type === "AlertRaised" && !replayed) {
    siren.sound({ drill: alert.drill });
    $("announce").textContent = t("new.alert", { label: label(alert) });
  }
  if (alert.id === state.selected) {
    if (message.type === "NoteAdded" || message.note) state.notes.push(message);
  }
  render();
}

// --- what the officer sees -----------------------------------------------------------------

function roomName(alert) {
  if (!alert.room_id) return t("alerts.campus");
  const place = state.places.get(alert.room_id);
  return place ? `${place.room.number} ${place.room.name}` : alert.room_id;
}

function label(alert) {
  const school = state.trees.get(alert.school_id)?.name ?? alert.school_id;
  return t("alerts.row", { kind: t(`kind.${alert.kind}`), school, room: roomName(alert) });
}

function mine(alert) { return (alert.responders ?? []).find((r) => r.actor.id === state.me?.id); }

// DRILL first on a drill; REAL first on a real alert at a school where a drill is running,
// so that nobody takes it for part of the drill.
function marker(alert) {
  if (alert.drill) return `${t("drill")} `;
  const drilling = [...state.alerts.values()].some((a) => a.drill && OPEN_STATES.has(a.state) && a.school_id === alert.school_id);
  return drilling ? `${t("real")} ` : "";
}

function render() {
  const open = [...state.alerts.values()].filter((a) => OPEN_STATES.has(a.state))
    .sort((a, b) => b.raised_at.localeCompare(a.raised_at));
  if (!open.length) {
    const li = document.createElement("li");
    li.textContent = t("alerts.none");
    $("alerts").replaceChildren(li);
  } else {
    $("alerts").replaceChildren(...open.map((alert) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.alertId = alert.id;
      button.className = alert.drill ? "drill" : "real";
      const what = document.createElement("span");
      what.className = "what";
      what.textContent = marker(alert) + label(alert);
      const when = document.createElement("span");
      when.className = "when";
      when.textContent = `${t(`state.${alert.state}`)} · ${new Date(alert.raised_at).toLocaleTimeString(language)}`;
      button.append(what, when);
      button.addEventListener("click", () => openDetail(alert.id));
      li.append(button);
      return li;
    }));
  }
  const responding = [...state.alerts.values()].some((a) => OPEN_STATES.has(a.state) && ["en_route", "on_scene"].includes(mine(a)?.status));
  location_.responding(responding);
  renderDetail();
}

async function openDetail(id) {
  state.selected = id;
  history.replaceState(null, "", `/sro/?alert=${encodeURIComponent(id)}`);
  show("detail");
  try {
    const detail = await auth.get(`/v1/alerts/${encodeURIComponent(id)}`);
    const { timeline, deliveries, ...alert } = detail;
    state.alerts.set(alert.id, alert);
    state.notes = timeline.filter((e) => e.note);
  } catch (error) {
    $("action-error").textContent = error.message;
  }
  render();
  $("detail-heading").focus?.();
}

$("detail-close").addEventListener("click", () => {
  state.selected = null;
  history.replaceState(null, "", "/sro/");
  show("list");
  render();
});

function renderDetail() {
  const alert = state.alerts.get(state.selected);
  if (!alert || $("detail").hidden) return;
  $("detail-heading").textContent = marker(alert) + t("detail.heading", { kind: t(`kind.${alert.kind}`), room: roomName(alert) });
  $("detail-state").textContent = t("detail.state", { state: t(`state.${alert.state}`) });
  $("detail-raised").textContent = t("detail.raised", { name: alert.raised_by.name, time: new Date(alert.raised_at).toLocaleTimeString(language) });
  const responders = (alert.responders ?? []).map((r) => `${r.actor.name} (${t(`responder.${r.status}`)})`);
  $("detail-responders").textContent = responders.length ? t("detail.responders", { list: responders.join(", ") }) : t("detail.nobody");
  const open = OPEN_STATES.has(alert.state);
  const status = mine(alert)?.status;
  const campus = CAMPUS_KINDS.has(alert.kind);
  const enabled = {
    acknowledge: open && !status,
    en_route: open && status !== "en_route" && status !== "on_scene",
    on_scene: open && status !== "on_scene",
    resolve: open && !campus,
    all_clear: open && campus,
  };
  for (const button of $("actions").querySelectorAll("button")) {
    button.hidden = (button.dataset.action === "resolve" && campus) || (button.dataset.action === "all_clear" && !campus);
    button.disabled = !enabled[button.dataset.action];
  }
  const notes = state.notes.filter((e, i, all) => all.findIndex((o) => o.id === e.id) === i);
  $("notes").replaceChildren(...(notes.length ? notes : [null]).map((e) => {
    const li = document.createElement("li");
    li.textContent = e ? `${new Date(e.at).toLocaleTimeString(language)} ${e.actor.name}: ${e.note}` : t("notes.none");
    return li;
  }));
  drawPlan(alert);
}

function drawPlan(alert) {
  const place = alert.room_id ? state.places.get(alert.room_id) : null;
  $("plan-none").hidden = Boolean(place);
  $("plan").hidden = !place;
  if (!place) return;
  const marks = new Map([[alert.room_id, { drill: alert.drill, selected: true }]]);
  const text = t("plan.label", { floor: place.floor.name, building: place.building.name, room: `${place.room.number} ${place.room.name}` });
  plan.draw(place.floor, { alerts: marks, label: text });
  $("plan").setAttribute("aria-label", text);
  $("plan").setAttribute("role", "group");
}

function showLocation(value) {
  for (const id of ["location", "detail-location"]) {
    $(id).textContent = t(`location.${value}`);
    $(id).classList.toggle("on", value === "on");
  }
}

// --- acting --------------------------------------------------------------------------------

$("actions").addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button || button.disabled) return;
  const id = encodeURIComponent(state.selected);
  const action = button.dataset.action;
  $("action-error").textContent = "";
  try {
    let alert;
    if (action === "acknowledge") alert = await auth.post(`/v1/alerts/${id}/acknowledge`, {});
    else if (action === "resolve") alert = await auth.post(`/v1/alerts/${id}/resolve`, {});
    else if (action === "all_clear") alert = await auth.post(`/v1/alerts/${id}/all-clear`, {});
    else {
      location_.responding(true); // the report itself starts sharing, and says so
      const where = location_.current();
      const body = { status: action };
      if (where) body.note = t("location.note", where);
      alert = await auth.post(`/v1/alerts/${id}/status`, body);
      state.locationOwed = where ? null : alert.id; // sent with the first fix instead
      sendPendingLocation(location_.current()); // it may have come while the report was sent
    }
    state.alerts.set(alert.id, alert);
    render();
  } catch (error) {
    $("action-error").textContent = t("action.failed", { message: error.message });
    render();
  }
});

// The first position after a status report that had none goes to dispatch as a note, once.
async function sendPendingLocation(where) {
  const id = state.locationOwed;
  if (!id || !where) return;
  state.locationOwed = null;
  try {
    await auth.post(`/v1/alerts/${encodeURIComponent(id)}/notes`, { text: t("location.note", where) });
  } catch { /* offline: the next status report carries the position */ }
}

$("note-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("note-text").value.trim();
  if (!text) return;
  try {
    await auth.post(`/v1/alerts/${encodeURIComponent(state.selected)}/notes`, { text });
    $("note-text").value = "";
    await openDetail(state.selected);
  } catch (error) {
    $("action-error").textContent = t("action.failed", { message: error.message });
  }
});

// --- Web Push: alerts while the app is closed -----------------------------------------------

async function offerPush() {
  if (!("PushManager" in window) || !navigator.serviceWorker || Notification.permission === "denied") return;
  if (await store.get("push_subscribed")) { $("tool-state").textContent = t("push.on"); return; }
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
    $("tool-state").textContent = t("push.on");
  } catch (error) {
    $("tool-state").textContent = t("push.failed", { message: error.message });
  }
});
