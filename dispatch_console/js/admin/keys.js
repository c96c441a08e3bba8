// API keys: a key acts as the person it belongs to (an integration, a bell-schedule sync).
// Creating one shows the key once; revoking it stops it at once.

import { el } from "../format.js";
import { announce, field, formError, option, showOnce, submitting, table, when } from "./ui.js";

export async function renderKeys(section, admin) {
  const list = el("div", { id: "keys-list" });
  const { users } = await admin.api.get("/v1/users");
  const owner = el("select", { name: "user_id" }, users.filter((u) => !u.disabled).map((u) => option(u.id, `${u.name} (${u.email})`)));
  const form = el("form", { class: "form-grid", novalidate: true, "data-form": "new-key" },
    field("Acts as", owner, "the key has this person's role and schools"),
    field("What it is for", el("input", { name: "name", required: true, autocomplete: "off" })),
    el("div", { class: "form-actions" }, el("button", { type: "submit", class: "primary" }, "Create key")),
    formError());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = form.elements.name.value.trim();
    const issued = await submitting(form, () => admin.api.post(`/v1/users/${encodeURIComponent(owner.value)}/api-keys`, { name }));
    if (!issued) return;
    form.elements.name.value = "";
    await refresh();
    await showOnce(`The API key "${issued.name}". Send it as the X-API-Key header.`, issued.key);
  });
  section.append(
    el("h2", { id: "keys-title" }, "API keys"),
    el("div", { class: "panel" }, el("h3", {}, "Create a key"), users.length ? form : el("p", {}, "Add a person first: a key acts as someone.")),
    el("div", { class: "panel" }, el("h3", {}, "Keys"), list),
  );

  async function refresh() {
    const { api_keys: keys } = await admin.api.get("/v1/api-keys");
    list.replaceChildren(keys.length
      ? table("API keys", ["Name", "Acts as", "Created", "Status", "Actions"], keys.map((key) => el("tr", { "data-key-id": key.id },
        el("td", {}, key.name),
        el("td", {}, key.user_email),
        el("td", {}, when(key.created_at)),
        el("td", { class: key.revoked_at ? "status-quiet" : "status-ok" }, key.revoked_at ? `Revoked ${when(key.revoked_at)}` : "Live"),
        el("td", { class: "actions-cell" }, key.revoked_at ? null : el("button", {
          type: "button", "data-action": "revoke",
          onclick: async () => {
            if (!window.confirm(`Revoke "${key.name}"? Whatever uses it stops working now.`)) return;
            await admin.api.delete(`/v1/api-keys/${encodeURIComponent(key.id)}`);
            announce(`Revoked ${key.name}`);
            await refresh();
          },
        }, "Revoke")))))
      : el("p", {}, "No keys."));
  }

  await refresh();
}
