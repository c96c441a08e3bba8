// Drills and compliance: a coordinator's page. It shows the term's drill counts against the
// state's (configurable) requirement, exports them as CSV, and lists, schedules, starts and
// ends drill plans. Like the console, it decides nothing: the API answers what a role may do.

import { Api, ApiError } from "./api.js";
import { el } from "./format.js";
import { reportPath } from "./incidents.js";

const RUNS_DRILLS = new Set(["drill_coordinator", "school_admin", "district_admin"]);
const $ = (id) => document.getElementById(id);
const api = new Api();
const page = { me: null };
window.alertdDrills = page; // for the browser tests

const when = (iso) => new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });

function query() {
  const params = new URLSearchParams({ school_id: $("school").value });
  if ($("term").value.trim()) params.set("term", $("term").value.trim());
  return params;
}

async function showCompliance() {
  $("compliance-error").textContent = "";
  const body = $("requirements").querySelector("tbody");
  try {
    const found = await api.get(`/v1/compliance?${query()}`);
    $("rule").textContent = `${found.state_name} (example rule), term ${found.term}: ${found.first_day} to ${found.last_day}. ${found.note}`;
    body.replaceChildren(...found.requirements.map((r) => el("tr", { "data-kind": r.kind, class: r.met ? "met" : "short" },
      el("td", {}, r.label), el("td", {}, String(r.required)), el("td", { "data-done": "" }, String(r.done)),
      el("td", {}, String(r.planned)), el("td", {}, r.met ? "met" : `${r.required - r.done} short`))));
    $("disclaimer").textContent = found.disclaimer;
    const csv = query(); csv.set("format", "csv"); csv.set("term", found.term);
    $("export").href = `/v1/compliance?${csv}`;
  } catch (error) {
    body.replaceChildren();
    $("compliance-error").textContent = error.message;
  }
}

async function act(plan, action) {
  try {
    await api.post(`/v1/drills/${encodeURIComponent(plan.id)}/${action}`);
  } catch (error) {
    $("schedule-error").textContent = error.message;
  }
  await refresh();
}

async function showPlans() {
  const runs = RUNS_DRILLS.has(page.me.role);
  const { drills } = await api.get(`/v1/drills?school_id=${encodeURIComponent($("school").value)}`);
  $("plans").querySelector("tbody").replaceChildren(...drills.map((plan) => el("tr", { "data-plan": plan.id, "data-state": plan.state },
    el("td", {}, when(plan.scheduled_for)), el("td", {}, plan.kind), el("td", {}, plan.state),
    el("td", {}, plan.test_contacts.join(", ") || "all"),
    el("td", {},
      runs && plan.state === "scheduled" ? el("button", { type: "button", onclick: () => act(plan, "start") }, "Start") : null,
      runs && plan.state === "scheduled" ? el("button", { type: "button", onclick: () => act(plan, "cancel") }, "Call off") : null,
      runs && plan.state === "running" ? el("button", { type: "button", onclick: () => act(plan, "end") }, "End") : null,
      plan.alert_id ? el("a", { href: reportPath(plan.alert_id), target: "_blank", rel: "noopener" }, "Report") : null))));
  $("schedule").hidden = !runs;
}

async function refresh() {
  await Promise.all([showCompliance(), showPlans()]);
  document.body.dataset.ready = "true";
}

$("pick").addEventListener("submit", (event) => { event.preventDefault(); refresh(); });
$("schedule").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("schedule-error").textContent = "";
  const contacts = $("contacts").value.split(",").map((c) => c.trim()).filter(Boolean);
  const body = {
    kind: $("kind").value, school_id: $("school").value, audience: $("audience").value,
    scheduled_for: new Date($("when").value).toISOString(), test_contacts: contacts,
  };
  if ($("destination").value.trim()) body.destination = $("destination").value.trim();
  if ($("hazard").value) body.hazard = $("hazard").value;
  try {
    await api.post("/v1/drills", body);
    await refresh();
  } catch (error) {
    $("schedule-error").textContent = error instanceof ApiError && error.field ? `${error.field}: ${error.message}` : error.message;
  }
});

async function begin() {
  try {
    page.me = await api.get("/v1/auth/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) { $("signin-view").hidden = false; return; }
    throw error;
  }
  $("who-name").textContent = `${page.me.name} · ${page.me.role.replace("_", " ")}`;
  $("who").hidden = false;
  const { schools } = await api.get("/v1/schools");
  $("school").replaceChildren(...schools.map((s) => el("option", { value: s.id }, s.name)));
  $("drills-main").hidden = false;
  await refresh();
}

begin();
