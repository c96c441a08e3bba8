// The admin pages: sign in with the session cookie (as the console does), let only school
// and district admins in, and show one page at a time (#users, #keys, #sites, #devices,
// #audit). Each page asks the API for what it shows; the API decides what each admin sees.

import { Api, ApiError } from "../api.js";
import { renderAudit } from "./audit.js";
import { renderDevices } from "./devices.js";
import { renderKeys } from "./keys.js";
import { renderSites } from "./sites.js";
import { renderUsers } from "./users.js";

const ADMIN_ROLES = new Set(["school_admin", "district_admin"]);
const PAGES = { users: renderUsers, keys: renderKeys, sites: renderSites, devices: renderDevices, audit: renderAudit };
const $ = (id) => document.getElementById(id);
const api = new Api();

// What every page may need: who is signed in, the schools they see.
const admin = {
  api, me: null, schools: [], trees: new Map(),
  async loadSchools() {
    this.schools = (await api.get("/v1/schools")).schools;
    this.trees.clear();
  },
  async tree(schoolId) {
    if (!this.trees.has(schoolId)) this.trees.set(schoolId, await api.get(`/v1/schools/${encodeURIComponent(schoolId)}`));
    return this.trees.get(schoolId);
  },
  schoolName(id) { return this.schools.find((s) => s.id === id)?.name ?? id; },
};
window.alertdAdmin = admin; // for people debugging, and the browser tests

function show(view) {
  for (const id of ["signin-view", "refused-view", "admin-view"]) $(id).hidden = id !== view;
  $("who").hidden = view === "signin-view";
}

async function begin() {
  admin.me = await api.get("/v1/auth/me");
  $("who-name").textContent = `${admin.me.name} · ${admin.me.role.replace("_", " ")}`;
  if (!ADMIN_ROLES.has(admin.me.role)) { show("refused-view"); return; }
  await admin.loadSchools();
  show("admin-view");
  await route();
}

async function route() {
  if ($("admin-view").hidden) return;
  const name = PAGES[location.hash.slice(1)] ? location.hash.slice(1) : "users";
  for (const link of document.querySelectorAll(".tabs a")) {
    if (link.dataset.tab === name) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  for (const page of document.querySelectorAll("[data-page]")) page.hidden = page.dataset.page !== name;
  const section = $(`tab-${name}`);
  section.dataset.ready = "false";
  section.replaceChildren();
  try {
    await PAGES[name](section, admin);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) { show("signin-view"); return; }
    section.append(Object.assign(document.createElement("p"), { className: "error", role: "alert", textContent: error.message }));
  }
  section.dataset.ready = "true";
}

window.addEventListener("hashchange", () => { route(); $("admin-main").focus(); });
// The tab already open reloads when chosen again (no hashchange then): fresh "last heard from".
for (const link of document.querySelectorAll(".tabs a")) {
  link.addEventListener("click", () => { if (link.hash === location.hash) route(); });
}

$("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api.signIn($("username").value.trim(), $("password").value, $("totp").value.trim());
    $("password").value = "";
    await begin();
  } catch (error) {
    $("signin-error").textContent = error.message;
  }
});

$("sign-out").addEventListener("click", async () => {
  try { await api.signOut(); } finally { location.replace(location.pathname); }
});

(async () => {
  try {
    await begin();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) console.error(error);
    show("signin-view");
    $("username").focus();
  }
})();
