// Users and roles: create people, change their role, schools and phone, disable or enable
// them, reset a lost second factor, sign them out everywhere. GET /v1/users lists only the
// people this admin manages; the API refuses a role or school the admin may not grant.

import { el } from "../format.js";
import {
  GRANTABLE, ROLE_LABEL, announce, field, formError, option, selectedValues, submitting, table,
} from "./ui.js";

const ROLE_HINT = "a dispatcher belongs to an agency; everyone else to schools";

export async function renderUsers(section, admin) {
  const list = el("div", { id: "users-list" });
  const editor = el("div", { id: "user-editor" });
  section.append(
    el("h2", { id: "users-title" }, "Users and roles"),
    createForm(admin, () => refresh()),
    editor,
    el("div", { class: "panel" }, el("h3", {}, "People you manage"), list),
  );

  async function refresh() {
    const { users } = await admin.api.get("/v1/users");
    list.replaceChildren(users.length
      ? table("People you manage", ["Name", "E-mail", "Role", "Schools or agency", "Phone", "Status", "Second factor", "Actions"],
        users.map((user) => userRow(user)))
      : el("p", {}, "Nobody yet."));
  }

  function userRow(user) {
    const act = (label, call, confirmText) => el("button", {
      type: "button", "data-action": label.toLowerCase().replaceAll(" ", "-"),
      onclick: async () => {
        if (confirmText && !window.confirm(confirmText)) return;
        try { await call(); announce(`${label}: ${user.name}`); await refresh(); }
        catch (error) { announce(`Refused: ${error.message}`); window.alert(error.message); }
      },
    }, label);
    const path = `/v1/users/${encodeURIComponent(user.id)}`;
    const where = user.role === "dispatcher" ? `agency ${user.agency_id ?? "—"}` : user.school_ids.map((s) => admin.schoolName(s)).join(", ") || "—";
    return el("tr", { "data-user-id": user.id, "data-email": user.email },
      el("td", {}, user.name),
      el("td", {}, user.email),
      el("td", {}, ROLE_LABEL[user.role] ?? user.role),
      el("td", {}, where),
      el("td", {}, user.phone ?? "—"),
      el("td", { class: user.disabled ? "status-bad" : "status-ok" }, user.disabled ? "Disabled" : "Active"),
      el("td", {}, user.second_factor ? "On" : "Off"),
      el("td", { class: "actions-cell" },
        el("button", { type: "button", "data-action": "edit", onclick: () => editUser(user) }, "Edit"),
        user.disabled
          ? act("Enable", () => admin.api.post(`${path}/enable`))
          : act("Disable", () => admin.api.post(`${path}/disable`), `Disable ${user.name}? Their sessions and tokens end now.`),
        user.second_factor ? act("Reset second factor", () => admin.api.delete(`${path}/second-factor`), `Reset ${user.name}'s second factor?`) : null,
        act("Sign out everywhere", () => admin.api.post(`${path}/sign-out`), `Sign ${user.name} out of every session?`)));
  }

  function editUser(user) {
    const form = userForm(admin, user);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = readForm(form, { editing: true });
      const changed = await submitting(form, () => admin.api.patch(`/v1/users/${encodeURIComponent(user.id)}`, body));
      if (changed) { editor.replaceChildren(); announce(`Saved ${changed.name}`); await refresh(); }
    });
    const cancel = el("button", { type: "button", onclick: () => editor.replaceChildren() }, "Cancel");
    form.querySelector(".form-actions").append(cancel);
    editor.replaceChildren(el("div", { class: "panel" }, el("h3", {}, `Edit ${user.name}`), form));
    form.querySelector("input")?.focus();
  }

  await refresh();
}

function createForm(admin, done) {
  const form = userForm(admin, null);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const created = await submitting(form, () => admin.api.post("/v1/users", readForm(form, { editing: false })));
    if (created) { form.reset(); syncRole(form); announce(`Created ${created.name} (${created.email})`); await done(); }
  });
  return el("div", { class: "panel" }, el("h3", {}, "Add a person"), form);
}

// The same form creates and edits; editing leaves the password out (people set their own).
function userForm(admin, user) {
  const roles = GRANTABLE[admin.me.role] ?? [];
  const role = el("select", { name: "role" }, roles.map((r) => option(r, ROLE_LABEL[r], user ? user.role === r : r === "staff")));
  const schools = el("select", { name: "school_ids", multiple: true, size: Math.min(5, Math.max(2, admin.schools.length)) },
    admin.schools.map((s) => option(s.id, s.name, user ? user.school_ids.includes(s.id) : admin.schools.length === 1)));
  const form = el("form", { class: "form-grid", novalidate: true, "data-form": user ? "edit-user" : "new-user" },
    field("Name", el("input", { name: "name", required: true, autocomplete: "off", value: user?.name ?? "" })),
    user ? null : field("E-mail (their username)", el("input", { name: "email", type: "email", required: true, autocomplete: "off" })),
    user ? null : field("First password", el("input", { name: "password", type: "password", required: true, autocomplete: "new-password", minlength: 8 }), "at least 8 characters"),
    field("Role", role, ROLE_HINT),
    field("Schools", schools),
    admin.me.role === "district_admin" ? field("Agency (dispatchers)", el("input", { name: "agency_id", autocomplete: "off", value: user?.agency_id ?? "" })) : null,
    field("Phone (E.164, e.g. +15551234567)", el("input", { name: "phone", type: "tel", autocomplete: "off", value: user?.phone ?? "" }), "SROs and school admins are texted here"),
    el("div", { class: "form-actions" }, el("button", { type: "submit", class: "primary" }, user ? "Save" : "Add person")),
    formError());
  role.addEventListener("change", () => syncRole(form));
  syncRole(form);
  return form;
}

function syncRole(form) {
  const dispatcher = form.elements.role.value === "dispatcher";
  const agency = form.elements.agency_id;
  if (agency) agency.closest("label").hidden = !dispatcher;
  form.elements.school_ids.closest("label").hidden = dispatcher;
}

function readForm(form, { editing }) {
  const values = form.elements;
  const role = values.role.value;
  const body = { name: values.name.value.trim(), role };
  if (!editing) { body.email = values.email.value.trim(); body.password = values.password.value; }
  if (role === "dispatcher") { body.agency_id = values.agency_id?.value.trim() || null; body.school_ids = []; }
  else { body.school_ids = selectedValues(values.school_ids); if (editing) body.agency_id = null; }
  const phone = values.phone.value.trim();
  if (phone || editing) body.phone = phone || null;
  return body;
}

