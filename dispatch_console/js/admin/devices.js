// Devices: wall buttons, badges and kiosks of one school. Registering one, or rotating its
// secret, shows the secret once (alertd cannot show it again). "Last heard from" is the
// device's last signed request: a press or a heartbeat.

import { el } from "../format.js";
import { announce, field, formError, option, showOnce, submitting, table, when } from "./ui.js";

const KIND_LABEL = { wall_button: "Wall button", badge: "Badge", kiosk: "Kiosk" };

export async function renderDevices(section, admin) {
  if (!admin.schools.length) { section.append(el("h2", { id: "devices-title" }, "Devices"), el("p", {}, "No schools yet.")); return; }
  const school = el("select", { name: "school" }, admin.schools.map((s) => option(s.id, s.name)));
  const list = el("div", { id: "devices-list" });
  const registerPanel = el("div", { class: "panel" });
  section.append(
    el("h2", { id: "devices-title" }, "Devices"),
    el("div", { class: "toolbar" }, field("School", school)),
    registerPanel,
    el("div", { class: "panel" }, el("h3", {}, "Devices of this school"), list),
  );
  school.addEventListener("change", () => load());

  async function load() {
    const schoolId = school.value;
    const [tree, { users }] = await Promise.all([admin.tree(schoolId), admin.api.get(`/v1/users?school=${encodeURIComponent(schoolId)}`)]);
    registerPanel.replaceChildren(el("h3", {}, "Register a device"), registerForm(admin, tree, users, refresh));
    await refresh();
  }

  async function refresh() {
    const { devices } = await admin.api.get(`/v1/devices?school=${encodeURIComponent(school.value)}`);
    const tree = await admin.tree(school.value);
    const rooms = new Map(tree.buildings.flatMap((b) => b.floors.flatMap((f) => f.rooms.map((r) => [r.id, r.name]))));
    list.replaceChildren(devices.length
      ? table("Devices", ["Name", "Kind", "Id", "Bound to", "Status", "Last heard from", "Actions"], devices.map((device) => el("tr", { "data-device-id": device.id },
        el("td", {}, device.name),
        el("td", {}, KIND_LABEL[device.kind] ?? device.kind),
        el("td", {}, el("code", {}, device.id)),
        el("td", {}, device.room_id ? (rooms.get(device.room_id) ?? device.room_id) : (device.user_id ? `person ${device.user_id}` : "—")),
        el("td", { class: device.disabled ? "status-bad" : "status-ok" }, device.disabled ? "Disabled" : "Active"),
        el("td", { "data-field": "last-seen" }, when(device.last_seen_at)),
        el("td", { class: "actions-cell" }, device.disabled ? null : [
          el("button", { type: "button", "data-action": "rotate", onclick: () => rotate(device) }, "Rotate secret"),
          el("button", { type: "button", "data-action": "disable", onclick: () => disable(device) }, "Disable"),
        ]))))
      : el("p", {}, "No devices registered at this school."));
  }

  async function rotate(device) {
    if (!window.confirm(`Give ${device.name} a new secret? The old one keeps working for a grace period.`)) return;
    const issued = await admin.api.post(`/v1/devices/${encodeURIComponent(device.id)}/rotate`);
    await refresh();
    const until = issued.old_secret_valid_until ? ` The old secret works until ${when(issued.old_secret_valid_until)}.` : "";
    await showOnce(`The new secret of ${device.name} (${device.id}).${until}`, issued.secret);
  }

  async function disable(device) {
    if (!window.confirm(`Disable ${device.name}? Its presses are refused from now on.`)) return;
    await admin.api.delete(`/v1/devices/${encodeURIComponent(device.id)}`);
    announce(`Disabled ${device.name}`);
    await refresh();
  }

  await load();
}

function registerForm(admin, tree, users, refresh) {
  const kind = el("select", { name: "kind" }, Object.entries(KIND_LABEL).map(([value, label]) => option(value, label)));
  const room = el("select", { name: "room_id" }, option("", "—"),
    tree.buildings.flatMap((b) => b.floors.flatMap((f) => f.rooms.map((r) => option(r.id, `${r.name} (${b.name}, ${f.name})`)))));
  const wearer = el("select", { name: "user_id" }, option("", "—"),
    users.filter((u) => !u.disabled).map((u) => option(u.id, `${u.name} (${u.email})`)));
  const form = el("form", { class: "form-grid", novalidate: true, "data-form": "new-device" },
    field("Name", el("input", { name: "name", required: true, autocomplete: "off" })),
    field("Kind", kind),
    field("Device id (serial number)", el("input", { name: "id", autocomplete: "off" }), "empty: alertd makes one up"),
    field("Room", room, "a wall button needs its room"),
    field("Worn by", wearer, "a badge needs the person wearing it"),
    field("Expect a heartbeat every (seconds)", el("input", { name: "heartbeat_interval_seconds", type: "number", min: 1, max: 86400, inputmode: "numeric" }),
      "empty: supervised from its first heartbeat; set: reported silent if it never calls in"),
    el("div", { class: "form-actions" }, el("button", { type: "submit", class: "primary" }, "Register")),
    formError());
  const sync = () => {
    room.closest("label").hidden = kind.value === "badge";
    wearer.closest("label").hidden = kind.value !== "badge";
  };
  kind.addEventListener("change", sync);
  sync();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: form.elements.name.value.trim(), kind: kind.value, school_id: tree.id };
    if (form.elements.id.value.trim()) body.id = form.elements.id.value.trim();
    if (kind.value === "badge") { if (wearer.value) body.user_id = wearer.value; }
    else if (room.value) body.room_id = room.value;
    const interval = form.elements.heartbeat_interval_seconds.value.trim();
    if (interval) body.heartbeat_interval_seconds = Number(interval);
    const issued = await submitting(form, () => admin.api.post("/v1/devices", body));
    if (!issued) return;
    form.reset();
    sync();
    await refresh();
    await showOnce(`The secret of ${issued.device.name} (${issued.device.id}). Put it in the device now.`, issued.secret);
  });
  return form;
}
