// The dispatch console: signs in with the session cookie, loads the schools and the open
// alerts, follows /v1/stream live (resuming by event id, never reloading), and renders.

import { Alarm } from "./alarm.js";
import { Api, ApiError } from "./api.js";
import { CameraPanel } from "./cameras.js";
import { FloorPlan } from "./floorplan.js";
import { CAMPUS_KINDS, age, isOpen, kindLabel } from "./format.js";
import { ROLL_KINDS, Rolls, roomStatuses } from "./roll.js";
import { LiveStream } from "./stream.js";
import { renderDetail, renderOverview, renderQueue, roomName } from "./views.js";

const NOT_LIVE_AFTER_MS = 5000;
const ADMIN_ROLES = new Set(["school_admin", "district_admin"]);
const $ = (id) => document.getElementById(id);
const api = new Api();

const state = {
  alerts: new Map(), schools: new Map(), trees: new Map(), rooms: new Map(), places: new Map(),
  selected: null, detail: null, expanded: new Set(), showClosed: false, actionError: null,
  plan: { school: null, building: null, floor: null }, loaded: false, stream: null,
  select(id) { selectAlert(id); },
  toggle(key) { state.expanded.has(key) ? state.expanded.delete(key) : state.expanded.add(key); renderAll(); },
  showSchool(id) { setPlan(id); drawPlan(); },
};
window.alertdConsole = state; // for people debugging a console, and the browser tests

const plan = new FloorPlan($("plan"));
state.rolls = new Rolls(api, (alertId) => {
  if (alertId === state.selected) drawDetail();
  scheduleRender();
});
const cameras = new CameraPanel(api, $("cameras"));
const alarm = new Alarm({
  overlay: $("takeover"), list: $("takeover-list"), title: $("takeover-title"),
  seenButton: $("takeover-seen"),
  onSeen: (ids) => { const last = ids[ids.length - 1]; if (last) selectAlert(last); },
});

// --- signing in ----------------------------------------------------------------------------

async function start() {
  try {
    await begin();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) console.error(error);
    showSignIn();
  }
}

function showSignIn(message = "") {
  $("console-view").hidden = true; $("who").hidden = true; $("signin-view").hidden = false;
  $("signin-error").textContent = message;
  $("username").focus();
}

$("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  alarm.unlock(); // this click lets the page make sound
  try {
    await api.signIn($("username").value.trim(), $("password").value, $("totp").value.trim());
    $("password").value = "";
    await begin();
  } catch (error) {
    $("signin-error").textContent = error.message;
  }
});

$("sign-out").addEventListener("click", async () => {
  state.stream?.stop();
  try { await api.signOut(); } finally { location.replace(location.pathname); }
});

async function begin() {
  const me = await api.get("/v1/auth/me");
  $("who-name").textContent = `${me.name} · ${me.role.replace("_", " ")}`;
  $("admin-link").hidden = !ADMIN_ROLES.has(me.role); // the API refuses the others anyway
  const { schools } = await api.get("/v1/schools");
  const trees = await Promise.all(schools.map((s) => api.get(`/v1/schools/${encodeURIComponent(s.id)}`)));
  for (const tree of trees) indexSchool(tree);
  $("signin-view").hidden = true; $("console-view").hidden = false; $("who").hidden = false;
  setPlan(schools[0]?.id ?? null);
  state.stream = new LiveStream({
    onEvent, onState,
    onReset: () => { state.alerts.clear(); state.loaded = false; },
    onUnauthenticated: () => { state.stream.stop(); showSignIn("Your session ended: sign in again."); },
  });
  state.stream.start();
  renderAll();
}

function indexSchool(tree) {
  state.schools.set(tree.id, { id: tree.id, name: tree.name });
  state.trees.set(tree.id, tree);
  for (const building of tree.buildings) {
    for (const floor of building.floors) {
      for (const room of floor.rooms) {
        state.rooms.set(room.id, room);
        state.places.set(room.id, { school: tree.id, building: building.name, floor: floor.name, buildingId: building.id, floorId: floor.id });
      }
    }
  }
}

async function loadAlerts() {
  const open = "state=raised&state=acknowledged&state=responding";
  const [active, recent] = await Promise.all([api.get(`/v1/alerts?${open}&limit=1000`), api.get("/v1/alerts?limit=50")]);
  for (const alert of [...recent.alerts, ...active.alerts]) merge(alert);
  state.loaded = true;
  renderAll();
}

// --- live events ---------------------------------------------------------------------------

function merge(alert) {
  const known = state.alerts.get(alert.id);
  if (known && known.version > alert.version) return false;
  state.alerts.set(alert.id, alert);
  return true;
}

function onEvent(message) {
  if (message.type === "CameraOffline" || message.type === "CameraOnline") {
    cameras.health(message.data?.camera_id, message.type === "CameraOnline");
    return;
  }
  if (message.alert) {
    const isNew = !state.alerts.has(message.alert_id);
    merge(message.alert);
    if (state.loaded && ((message.type === "AlertRaised" && isNew) || message.type === "AlertUpgraded")) {
      const alert = message.alert;
      const label = `${kindLabel(alert.kind)} — ${state.schools.get(alert.school_id)?.name ?? alert.school_id}, ${roomName(state, alert)}`;
      alarm.raise(alert.id, label, alert.drill);
      $("announcer").textContent = `${alert.drill ? "Drill" : "New alert"}: ${label}`;
    }
  }
  state.rolls.event(message);
  if (message.alert_id && message.alert_id === state.selected) refreshDetail();
  scheduleRender();
}

let downTimer = null;
function onState(connection, downSince) {
  const box = $("connection");
  const text = { connecting: "Connecting…", "catching-up": "Catching up…", live: "Live", down: "Disconnected — reconnecting" }[connection];
  box.dataset.state = connection;
  $("connection-text").textContent = text;
  clearTimeout(downTimer);
  if (connection === "live") {
    $("not-live").hidden = true;
    if (!state.loaded) loadAlerts();
    else if (state.selected) refreshDetail();
    return;
  }
  if (downSince) {
    const showBanner = () => {
      box.dataset.state = "not-live";
      $("connection-text").textContent = "NOT LIVE";
      $("not-live-since").textContent = new Date(downSince).toLocaleTimeString();
      $("not-live").hidden = false;
    };
    const wait = NOT_LIVE_AFTER_MS - (Date.now() - downSince);
    if (wait <= 0) showBanner(); else downTimer = setTimeout(showBanner, wait);
  }
}

// --- rendering -----------------------------------------------------------------------------

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; renderAll(); });
}

function renderAll() {
  const focused = document.activeElement?.dataset?.alertId;
  renderQueue(state, $("queue"));
  renderOverview(state, $("overview"));
  if (focused) $("queue").querySelector(`[data-alert-id="${CSS.escape(focused)}"]`)?.focus();
  drawPlan();
}

setInterval(() => {
  for (const node of document.querySelectorAll("[data-since]")) node.textContent = age(node.dataset.since);
}, 1000);

async function selectAlert(id) {
  state.selected = id;
  state.actionError = null;
  const alert = state.alerts.get(id);
  const place = alert && state.places.get(alert.room_id);
  if (place) { state.plan = { school: place.school, building: place.buildingId, floor: place.floorId }; fillPlanPickers(); }
  else if (alert) setPlan(alert.school_id);
  renderAll();
  if (alert) cameras.show(alert.school_id, alert.room_id, place?.floorId);
  if (alert && ROLL_KINDS.has(alert.kind)) state.rolls.reload(alert.id);
  await refreshDetail();
}

async function refreshDetail() {
  const id = state.selected;
  if (!id) return;
  try {
    const detail = await api.get(`/v1/alerts/${encodeURIComponent(id)}`);
    if (state.selected !== id) return;
    merge(detail);
    state.detail = detail;
  } catch (error) {
    state.actionError = error.message;
  }
  drawDetail();
  scheduleRender();
}

function drawDetail() {
  const typing = document.activeElement?.id === "note-text" ? $("note-text").value : null;
  renderDetail(state, $("detail"), state.detail && state.detail.id === state.selected ? state.detail : null);
  if (typing !== null) { $("note-text").value = typing; $("note-text").focus(); }
}

// --- the floor plan ------------------------------------------------------------------------

function setPlan(schoolId) {
  const tree = state.trees.get(schoolId);
  const building = tree?.buildings[0];
  const floor = building?.floors.find((f) => f.ordinal === 0) ?? building?.floors[0];
  state.plan = { school: schoolId, building: building?.id ?? null, floor: floor?.id ?? null };
  fillPlanPickers();
}

function option(value, label, selected) {
  const node = document.createElement("option");
  node.value = value; node.textContent = label; node.selected = selected;
  return node;
}

function fillPlanPickers() {
  const tree = state.trees.get(state.plan.school);
  $("plan-school").replaceChildren(...[...state.schools.values()].map((s) => option(s.id, s.name, s.id === state.plan.school)));
  const buildings = tree?.buildings ?? [];
  $("plan-building").replaceChildren(...buildings.map((b) => option(b.id, b.name, b.id === state.plan.building)));
  const floors = buildings.find((b) => b.id === state.plan.building)?.floors ?? [];
  $("plan-floor").replaceChildren(...floors.map((f) => option(f.id, f.name, f.id === state.plan.floor)));
}

function drawPlan() {
  const tree = state.trees.get(state.plan.school);
  const building = tree?.buildings.find((b) => b.id === state.plan.building);
  const floor = building?.floors.find((f) => f.id === state.plan.floor);
  const alerts = new Map();
  for (const alert of state.alerts.values()) {
    if (isOpen(alert) && alert.room_id && floor?.rooms.some((r) => r.id === alert.room_id)) {
      const selected = alert.id === state.selected;
      if (!alerts.has(alert.room_id) || selected) alerts.set(alert.room_id, { drill: alert.drill, selected });
    }
  }
  const roll = state.rolls.forPlan(state.alerts, state.plan.school, state.selected);
  $("roll-legend").hidden = !roll;
  plan.draw(floor, {
    alerts, roll: roll ? roomStatuses(roll) : null,
    label: floor ? `Floor plan of ${tree.name}, ${building.name}, ${floor.name}` : "",
  });
}

$("plan-school").addEventListener("change", (e) => { setPlan(e.target.value); drawPlan(); });
$("plan-building").addEventListener("change", (e) => {
  const building = state.trees.get(state.plan.school)?.buildings.find((b) => b.id === e.target.value);
  state.plan.building = e.target.value;
  state.plan.floor = (building?.floors.find((f) => f.ordinal === 0) ?? building?.floors[0])?.id ?? null;
  fillPlanPickers(); drawPlan();
});
$("plan-floor").addEventListener("change", (e) => { state.plan.floor = e.target.value; drawPlan(); });
$("plan").addEventListener("click", (event) => {
  const icon = event.target.closest?.(".camera[data-camera-id]");
  if (icon) cameras.focus(icon.dataset.cameraId);
});
$("zoom-in").addEventListener("click", () => plan.zoom(1.25));
$("zoom-out").addEventListener("click", () => plan.zoom(0.8));
$("zoom-reset").addEventListener("click", () => plan.reset());
$("show-closed").addEventListener("change", (e) => { state.showClosed = e.target.checked; renderAll(); });

// --- actions -------------------------------------------------------------------------------

async function act(action) {
  const alert = state.detail;
  if (!alert || alert.id !== state.selected) return;
  if (action === "cancel") { openCancel(); return; }
  const path = `/v1/alerts/${encodeURIComponent(alert.id)}`;
  const calls = {
    acknowledge: () => api.post(`${path}/acknowledge`),
    en_route: () => api.post(`${path}/status`, { status: "en_route" }),
    on_scene: () => api.post(`${path}/status`, { status: "on_scene" }),
    resolve: () => api.post(`${path}/resolve`),
    all_clear: () => api.post(`${path}/all-clear`),
  };
  await run(calls[action]);
}

async function run(call) {
  try {
    const alert = await call();
    state.actionError = null;
    if (alert) merge(alert);
  } catch (error) {
    state.actionError = error instanceof ApiError ? `Refused: ${error.message}` : `Failed: ${error.message}`;
  }
  await refreshDetail();
}

$("detail").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (button) act(button.dataset.action);
});
$("detail").addEventListener("submit", async (event) => {
  if (event.target.id !== "note-form") return;
  event.preventDefault();
  const text = $("note-text").value.trim();
  if (!text || !state.detail) return;
  $("note-text").value = "";
  await run(() => api.post(`/v1/alerts/${encodeURIComponent(state.detail.id)}/notes`, { text }));
});

function openCancel() {
  $("cancel-reason").value = "";
  $("cancel-dialog").showModal();
}
$("cancel-back").addEventListener("click", () => $("cancel-dialog").close());
$("cancel-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const reason = $("cancel-reason").value.trim();
  if (!reason) return;
  $("cancel-dialog").close();
  await run(() => api.post(`/v1/alerts/${encodeURIComponent(state.detail.id)}/cancel`, { reason }));
});

// --- keyboard ------------------------------------------------------------------------------

function moveSelection(step) {
  const rows = [...$("queue").querySelectorAll("button.row")];
  if (!rows.length) return;
  const index = rows.indexOf(document.activeElement);
  const next = rows[Math.max(0, Math.min(rows.length - 1, index < 0 ? 0 : index + step))];
  next.focus();
}

document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (!$("takeover").hidden || document.querySelector("dialog[open]")) return;
  if (target.closest?.("input, textarea, select, #plan")) return;
  const keys = {
    j: () => moveSelection(1), ArrowDown: () => moveSelection(1),
    k: () => moveSelection(-1), ArrowUp: () => moveSelection(-1),
    a: () => act("acknowledge"), e: () => act("en_route"), o: () => act("on_scene"),
    r: () => act(state.detail && CAMPUS_KINDS.has(state.detail.kind) ? "all_clear" : "resolve"),
    x: () => act("cancel"), n: () => $("note-text")?.focus(), f: () => $("plan").focus(),
    "?": () => $("help-dialog").showModal(),
  };
  if (keys[event.key] && !$("console-view").hidden) { event.preventDefault(); keys[event.key](); }
});
$("help-button").addEventListener("click", () => $("help-dialog").showModal());

start();
