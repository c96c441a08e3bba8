// What the admin pages share: forms that show the API's field errors next to the field,
// the shown-once dialog for secrets and keys, tables, and role names.

import { ApiError } from "../api.js";
import { el } from "../format.js";

export const ROLE_LABEL = {
  staff: "Staff", sro: "SRO", dispatcher: "Dispatcher", drill_coordinator: "Drill coordinator",
  school_admin: "School admin", district_admin: "District admin",
};
// Which roles each admin hands out (alertd/core/account.py: GRANTS).
export const GRANTABLE = {
  school_admin: ["staff", "sro", "drill_coordinator", "school_admin"],
  district_admin: ["staff", "sro", "dispatcher", "drill_coordinator", "school_admin", "district_admin"],
};

export function when(iso) {
  return iso ? new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : "never";
}

export function announce(text) {
  document.getElementById("announcer").textContent = text;
}

export function option(value, label, selected = false) {
  const node = el("option", { value }, label);
  node.selected = selected;
  return node;
}

// A labelled control; `name` is the API's field name, so an error naming it lands here.
export function field(label, control, hint = null) {
  const id = `f-${Math.random().toString(36).slice(2, 10)}`;
  control.id = id;
  const error = el("span", { class: "field-error", id: `${id}-error` });
  control.setAttribute("aria-describedby", `${id}-error`);
  return el("label", { for: id }, label, control, hint ? el("span", { class: "hint" }, hint) : null, error);
}

export function clearErrors(form) {
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
  const general = form.querySelector(".form-error");
  if (general) general.textContent = "";
}

// Puts the API's refusal next to the field it names (its first part: "schools.0.id" ->
// "schools"), or under the form when no control has that name.
export function showError(form, error) {
  const message = error instanceof ApiError ? error.message : `Failed: ${error.message}`;
  const name = error instanceof ApiError && error.field ? error.field : null;
  const control = name
    ? form.querySelector(`[name="${CSS.escape(name)}"]`) ?? form.querySelector(`[name="${CSS.escape(name.split(".")[0])}"]`)
    : null;
  if (control) {
    control.setAttribute("aria-invalid", "true");
    document.getElementById(`${control.id}-error`).textContent = message;
    control.focus();
  }
  const general = form.querySelector(".form-error");
  const named = name && !message.startsWith(`${name}:`) ? `${name}: ${message}` : message;
  if (general) general.textContent = control ? "" : named;
}

// Runs `call` for a form: clears old errors, shows the new one. Returns the answer or null.
export async function submitting(form, call) {
  clearErrors(form);
  const button = form.querySelector("button[type=submit]");
  if (button) button.disabled = true;
  try {
    return await call();
  } catch (error) {
    showError(form, error);
    return null;
  } finally {
    if (button) button.disabled = false;
  }
}

export function formError() {
  return el("p", { class: "error form-error", role: "alert" });
}

// The dialog for a secret or key that alertd shows this once.
export function showOnce(what, secret) {
  document.getElementById("secret-what").textContent = what;
  document.getElementById("secret-value").textContent = secret;
  const dialog = document.getElementById("secret-dialog");
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => {
    document.getElementById("secret-value").textContent = ""; // gone from the page too
    resolve();
  }, { once: true }));
}

export function table(caption, headings, rows) {
  return el("table", { class: "admin-table" },
    el("caption", { class: "visually-hidden" }, caption),
    el("thead", {}, el("tr", {}, headings.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows));
}

export function selectedValues(select) {
  return [...select.selectedOptions].map((o) => o.value);
}
