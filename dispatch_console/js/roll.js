// The roll (room accountability) on the console: during a lockdown, evacuation or shelter,
// which rooms are secured, which need help and which have not reported. The roll is read
// from GET /v1/alerts/{id}/roll and read again when the stream says it changed
// (RoomReported, RollReminder, or the alert itself moved).

import { clock, el, isOpen } from "./format.js";

export const ROLL_KINDS = new Set(["lockdown", "evacuate", "shelter"]);
const ROLL_EVENTS = new Set(["RoomReported", "RollReminder"]);
const STATUS_LABEL = { secured: "secured", needs_help: "needs help", not_reported: "not reported" };
const RELOAD_MS = 250; // reports arrive in bursts: read the roll once per burst

export class Rolls {
  constructor(api, onChange) {
    this.api = api;
    this.onChange = onChange;
    this.rolls = new Map(); // alert id -> the roll as last read
    this.timers = new Map();
    this.failed = new Set(); // rolls that could not be read: only an event tries again
  }

  get(alertId) { return this.rolls.get(alertId) ?? null; }

  // The stream passed an event: read the roll again if it may have changed.
  event(message) {
    const kind = message.alert?.kind;
    if (!message.alert_id || !(ROLL_EVENTS.has(message.type) || ROLL_KINDS.has(kind))) return;
    this.reload(message.alert_id);
  }

  reload(alertId) {
    clearTimeout(this.timers.get(alertId));
    this.timers.set(alertId, setTimeout(() => this.load(alertId), RELOAD_MS));
  }

  async load(alertId) {
    this.timers.delete(alertId);
    try {
      this.rolls.set(alertId, await this.api.get(`/v1/alerts/${encodeURIComponent(alertId)}/roll`));
      this.failed.delete(alertId);
      this.onChange(alertId);
    } catch {
      this.failed.add(alertId); // the next event or selection reads it again
    }
  }

  // The roll the floor plan of `schoolId` shows: the selected alert's if it keeps one,
  // else the newest open one at the school.
  forPlan(alerts, schoolId, selectedId) {
    const selected = alerts.get(selectedId);
    const keeps = (a) => a && ROLL_KINDS.has(a.kind) && a.school_id === schoolId;
    let alert = keeps(selected) ? selected : null;
    if (!alert) {
      const open = [...alerts.values()].filter((a) => keeps(a) && isOpen(a));
      alert = open.sort((a, b) => (a.raised_at < b.raised_at ? 1 : -1))[0] ?? null;
    }
    if (!alert) return null;
    const roll = this.get(alert.id);
    if (!roll && !this.timers.has(alert.id) && !this.failed.has(alert.id)) this.reload(alert.id);
    return roll;
  }
}

// room id -> status, for the floor plan.
export function roomStatuses(roll) {
  return new Map((roll?.rooms ?? []).map((room) => [room.room_id, room.status]));
}

export function rollSummary(roll) {
  const c = roll.counts;
  return `${c.secured} secured, ${c.needs_help} need help, ${c.not_reported} not reported`;
}

function names(label, list) {
  return list.length ? `${label}: ${list.join(", ")}` : "";
}

function entryLine(name, entry) {
  const details = [names("missing", entry.missing), names("injured", entry.injured), names("extra", entry.extra)]
    .filter(Boolean).join("; ");
  return el("li", { class: `roll-${entry.status}`, "data-roll-status": entry.status },
    el("strong", {}, name), ` — ${STATUS_LABEL[entry.status]}`,
    entry.students_present !== null ? `, ${entry.students_present} students` : "",
    details ? ` (${details})` : "",
    entry.reported_by ? ` · ${entry.reported_by.name} at ${clock(entry.reported_at)}` : "",
    entry.note ? ` · “${entry.note}”` : "");
}

// The roll under the alert detail: counts, who needs help, who has not reported.
export function rollSection(roll) {
  if (!roll) return el("section", { class: "roll", "aria-label": "Roll" }, el("h4", {}, "Roll"), el("p", {}, "Loading the roll…"));
  const help = roll.rooms.filter((r) => r.status === "needs_help");
  const reported = roll.rooms.filter((r) => r.status === "secured");
  const unreported = roll.rooms.filter((r) => r.status === "not_reported");
  const since = roll.since_seconds !== null ? ` · ${Math.floor(roll.since_seconds / 60)} min since it began` : "";
  return el("section", { class: "roll", "aria-label": "Roll", "data-roll-alert": roll.alert_id },
    el("h4", {}, "Roll"),
    el("p", { class: "roll-counts", "data-field": "roll-counts" }, rollSummary(roll), since,
      roll.reminders ? ` · reminded ${roll.reminders}×` : ""),
    roll.reunification_sites.length ? el("p", { class: "roll-sites" }, "Reunification: ",
      roll.reunification_sites.map((s) => [s.name, s.address].filter(Boolean).join(", ")).join("; ")) : null,
    help.length || roll.groups.some((g) => g.status === "needs_help")
      ? [el("h5", {}, "Need help"), el("ul", { class: "roll-list" },
        help.map((r) => entryLine(r.name, r)),
        roll.groups.filter((g) => g.status === "needs_help").map((g) => entryLine(g.group, g)))]
      : null,
    unreported.length ? [el("h5", {}, `Not reported (${unreported.length})`),
      el("p", { class: "roll-unreported", "data-field": "roll-unreported" }, unreported.map((r) => r.name).join(", "))] : null,
    reported.length || roll.groups.some((g) => g.status === "secured")
      ? [el("h5", {}, "Secured"), el("ul", { class: "roll-list" },
        reported.map((r) => entryLine(r.name, r)),
        roll.groups.filter((g) => g.status === "secured").map((g) => entryLine(g.group, g)))]
      : null);
}
