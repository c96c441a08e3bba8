// The audit trail: whether it is intact (the hash chain, held against the signed checkpoints
// kept outside the database), and its entries a page at a time. A school admin reads the
// entries of its schools; the API decides.

import { el } from "../format.js";
import { field, option, table, when } from "./ui.js";

const PAGE = 50;

export async function renderAudit(section, admin) {
  const status = el("div", { class: "panel verification", id: "audit-verification", role: "status" });
  const entries = el("div", { id: "audit-entries" });
  const school = el("select", { name: "school" },
    admin.me.role === "district_admin" ? option("", "All schools") : null,
    admin.schools.map((s) => option(s.id, s.name)));
  const pager = { after: 0, next: 0, history: [] };
  const older = el("button", { type: "button", onclick: () => { pager.after = pager.history.pop() ?? 0; load(); } }, "Previous page");
  const newer = el("button", { type: "button", onclick: () => { pager.history.push(pager.after); pager.after = pager.next; load(); } }, "Next page");
  const latest = el("button", { type: "button", onclick: () => jumpToLatest() }, "Latest entries");
  section.append(
    el("h2", { id: "audit-title" }, "Audit trail"),
    status,
    el("div", { class: "toolbar" }, field("School", school), older, newer, latest,
      el("button", { type: "button", onclick: () => verify() }, "Check again")),
    el("div", { class: "panel" }, el("h3", {}, "Entries, oldest first"), entries),
  );
  school.addEventListener("change", () => { pager.after = 0; pager.history = []; load(); });

  async function verify() {
    status.replaceChildren(el("p", {}, "Checking…"));
    const checked = await admin.api.get("/v1/audit/verification");
    status.dataset.ok = String(checked.ok);
    status.replaceChildren(
      el("h3", {}, checked.ok ? "Intact" : "NOT INTACT"),
      el("p", { "data-field": "verification" }, checked.ok
        ? `${checked.entries} entries checked: the hash chain holds up to entry ${checked.head_id}.`
        : `The chain breaks at entry ${checked.bad_id}: ${checked.reason}`),
      el("p", {}, checked.checkpoints
        ? `Held against ${checked.checkpoints} signed checkpoint(s); the last at entry ${checked.last_checkpoint_id}, ${when(checked.last_checkpoint_at)}.`
        : "No signed checkpoint yet: a rewritten tail would only be caught once one is written."));
    return checked;
  }

  async function load() {
    const query = new URLSearchParams({ after: String(pager.after), limit: String(PAGE) });
    if (school.value) query.set("school", school.value);
    const page = await admin.api.get(`/v1/audit?${query}`);
    pager.next = page.next_after;
    older.disabled = pager.after === 0;
    newer.disabled = page.entries.length < PAGE;
    entries.replaceChildren(page.entries.length
      ? table("Audit entries", ["#", "When", "Who", "What", "School", "Subject", "Detail"], page.entries.map((entry) => el("tr", { "data-audit-id": entry.id },
        el("td", {}, entry.id),
        el("td", {}, when(entry.at)),
        el("td", {}, `${entry.actor_id} (${entry.actor_role})`),
        el("td", {}, el("code", {}, entry.action)),
        el("td", {}, entry.school_id ? admin.schoolName(entry.school_id) : "—"),
        el("td", {}, entry.subject ?? "—"),
        el("td", { class: "audit-detail" }, Object.keys(entry.detail).length ? JSON.stringify(entry.detail) : ""))))
      : el("p", {}, "No entries here."));
  }

  // Entry ids run on without gaps, so the last page starts a page before the head.
  async function jumpToLatest() {
    const checked = await verify();
    pager.history.push(pager.after);
    pager.after = Math.max(0, checked.head_id - PAGE);
    await load();
  }

  await Promise.all([verify(), load()]);
}
