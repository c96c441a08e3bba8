// Rendering the queue, the district overview and the alert detail from the console's state.

import {
  CAMPUS_KINDS, DELIVERY_LABEL, RESPONDER_LABEL, SOURCE_LABEL, STATE_LABEL,
  age, clock, el, isOpen, kindLabel,
} from "./format.js";
import { groupIncidents, reportPath, schoolsDrilling } from "./incidents.js";

export function roomName(state, alert) {
  if (!alert.room_id) return "whole campus";
  return state.rooms.get(alert.room_id)?.name ?? alert.room_id;
}

function schoolName(state, id) { return state.schools.get(id)?.name ?? id; }

function responderSummary(alert) {
  if (!alert.responders.length) return "no responder yet";
  return alert.responders.map((r) => `${r.actor.name} (${RESPONDER_LABEL[r.status]})`).join(", ");
}

// DRILL on drills; REAL on a real alert at a school where a drill is running.
function badge(entry, drilling) {
  if (entry.drill) return el("span", { class: "badge drill" }, "DRILL");
  if (drilling.has(entry.school_id)) return el("span", { class: "badge real", "data-real": "" }, "REAL");
  return null;
}

function alertRow(state, alert, now, drilling = new Set()) {
  const classes = ["row", alert.drill ? "drill" : "real", isOpen(alert) ? "open" : "closed"];
  return el("li", {},
    el("button", {
      type: "button", class: classes.join(" "), "data-alert-id": alert.id,
      "aria-current": state.selected === alert.id ? "true" : "false",
      onclick: () => state.select(alert.id),
    },
    el("span", { class: "kind" }, kindLabel(alert.kind), badge(alert, drilling)),
    el("span", { class: "where" }, `${schoolName(state, alert.school_id)} · ${roomName(state, alert)}`),
    el("span", { class: "meta" },
      el("span", { class: "state" }, STATE_LABEL[alert.state]), el("br"),
      el("span", { class: "age", "data-since": alert.raised_at }, age(alert.raised_at, now)), el("br"),
      el("span", { class: "responders" }, `${alert.responders.length} responder${alert.responders.length === 1 ? "" : "s"}`))));
}

function incidentRow(state, entry, now, drilling) {
  const expanded = state.expanded.has(entry.key);
  const rooms = entry.rooms.map((id) => state.rooms.get(id)?.name ?? id);
  const shownRooms = rooms.slice(0, 4).join(", ") + (rooms.length > 4 ? ` +${rooms.length - 4} more` : "");
  const open = entry.alerts.filter(isOpen).length;
  return el("li", { class: "incident", "data-incident": entry.key },
    el("button", {
      type: "button", class: `row ${entry.drill ? "drill" : "real"} open`, "aria-expanded": String(expanded),
      "data-count": entry.alerts.length,
      onclick: () => state.toggle(entry.key),
    },
    el("span", { class: "kind" }, `${kindLabel(entry.kind)} — incident of ${entry.alerts.length} presses`,
      badge(entry, drilling)),
    el("span", { class: "where" }, `${schoolName(state, entry.school_id)} · rooms: ${shownRooms || "whole campus"} · first ${clock(entry.first)}`),
    el("span", { class: "meta" }, el("span", { class: "state" }, `${open} open`), el("br"), age(entry.first, now))),
    expanded ? el("ol", { class: "members" }, entry.alerts.map((a) => alertRow(state, a, now, drilling))) : null);
}

export function renderQueue(state, list, now = Date.now()) {
  const alerts = [...state.alerts.values()].filter((a) => state.showClosed || isOpen(a));
  const entries = groupIncidents(alerts);
  const drilling = schoolsDrilling(state.alerts.values());
  const rows = entries.map((e) => (e.type === "alert" ? alertRow(state, e.alert, now, drilling) : incidentRow(state, e, now, drilling)));
  if (!rows.length) rows.push(el("li", { class: "hint" }, "No active alert."));
  list.replaceChildren(...rows);
}

export function renderOverview(state, list) {
  const items = [...state.schools.values()].map((school) => {
    const open = [...state.alerts.values()].filter((a) => a.school_id === school.id && isOpen(a));
    const kinds = new Map();
    for (const alert of open) {
      const key = `${alert.kind}|${alert.drill}`;
      kinds.set(key, { kind: alert.kind, drill: alert.drill, count: (kinds.get(key)?.count ?? 0) + 1 });
    }
    const chips = [...kinds.values()].map((k) =>
      el("span", { class: `chip ${k.drill ? "drill" : ""}` }, `${k.drill ? "DRILL " : ""}${kindLabel(k.kind)} ×${k.count}`));
    return el("li", {}, el("button", { type: "button", "data-school-id": school.id, onclick: () => state.showSchool(school.id) },
      el("span", { class: "school-name" }, school.name),
      chips.length ? chips : el("span", { class: "chip quiet" }, "no active alert")));
  });
  list.replaceChildren(...items);
}

function actionButton(label, key, action, enabled = true) {
  return el("button", { type: "button", "data-action": action, disabled: !enabled }, label, el("kbd", {}, key));
}

function deliveriesSection(detail) {
  if (detail.deliveries === null) {
    return el("section", { "aria-label": "Deliveries" }, el("h4", {}, "Who was texted"),
      el("p", { class: "hint" }, "Your role does not see deliveries."));
  }
  const deliveries = [...detail.deliveries].sort((a, b) => Number(a.state === "delivered") - Number(b.state === "delivered"));
  const notReached = deliveries.filter((d) => d.state !== "delivered");
  const summary = !deliveries.length
    ? el("p", { class: "hint" }, "Nobody has been texted about this alert.")
    : notReached.length
      ? el("p", { class: "not-reached-summary", "data-not-reached": notReached.length },
        `${notReached.length} of ${deliveries.length} NOT reached: ${notReached.map((d) => d.recipient_name).join(", ")}`)
      : el("p", { class: "all-reached" }, `All ${deliveries.length} reached.`);
  return el("section", { "aria-label": "Deliveries" }, el("h4", {}, "Who was texted"), summary,
    deliveries.length ? el("table", {},
      el("thead", {}, el("tr", {}, el("th", {}, "Recipient"), el("th", {}, "To"), el("th", {}, "State"), el("th", {}, "Tries"))),
      el("tbody", {}, deliveries.map((d) => el("tr", { class: d.state === "delivered" ? "reached" : "not-reached", "data-delivery-state": d.state },
        el("td", {}, `${d.recipient_name} (${d.recipient_kind.replace("_", " ")})`),
        el("td", {}, `${d.channel.toUpperCase()} …${d.address.slice(-4)}`),
        el("td", { class: "state" }, DELIVERY_LABEL[d.state] ?? d.state, d.error ? ` — ${d.error}` : ""),
        el("td", {}, d.attempts))))) : null);
}

// The after-action report (metrics, charts, deliveries) for the roles that see deliveries.
function reportSection(detail) {
  if (detail.deliveries === null) return null;
  const link = (format, label) => el("a", { href: reportPath(detail.id, format), target: "_blank", rel: "noopener", "data-report": format }, label);
  return el("section", { "aria-label": "After-action report", class: "report-links" }, el("h4", {}, "After-action report"),
    el("p", {}, link("html", "Open the report"), " · ", link("csv", "CSV"), " · ", link("json", "JSON")));
}

function timelineSection(detail) {
  const items = detail.timeline.map((event) => {
    const who = `${event.actor.name}`;
    const what = {
      AlertRaised: "raised it", AlertAcknowledged: "acknowledged",
      ResponderStatusReported: `is ${RESPONDER_LABEL[event.data.status] ?? event.data.status}`,
      AlertResolved: "resolved it", AlertCancelled: "cancelled it", AllClearGiven: "gave the all clear",
      NoteAdded: "wrote", AlertUpgraded: `upgraded it ${event.data.from_kind} → ${event.data.to_kind}`,
    }[event.type] ?? event.type;
    return el("li", { class: event.type === "NoteAdded" ? "note" : "", "data-event-type": event.type },
      el("time", { datetime: event.at }, clock(event.at)), `${who} ${what}`, event.note ? `: “${event.note}”` : "");
  });
  return el("section", { "aria-label": "Timeline, notes and chat" }, el("h4", {}, "Timeline, notes and chat"),
    el("ol", { class: "timeline" }, items),
    el("form", { class: "note-form", id: "note-form" },
      el("label", { for: "note-text", class: "visually-hidden" }, "Note"),
      el("textarea", { id: "note-text", placeholder: "Write a note for everyone on this alert (n)", maxlength: 2000 }),
      el("button", { type: "submit" }, "Add note")));
}

// A press a button bridge kept through an outage arrives late: dispatch must see when it was
// pressed, not only when alertd heard of it. A minute or more counts as late.
function latePress(detail) {
  const timing = detail.timeline?.[0]?.data ?? {};
  if (!(timing.delay_seconds >= 60)) return null;
  return [el("dt", {}, "Pressed"),
    el("dd", { class: "late-press", "data-field": "pressed" },
      `${clock(timing.pressed_at)}, delivered ${age(timing.pressed_at, Date.parse(detail.raised_at))} late (the button could not reach alertd)`)];
}

export function renderDetail(state, container, detail, now = Date.now()) {
  if (!detail) { container.replaceChildren(el("p", { class: "empty" }, "Select an alert in the queue.")); return; }
  const campus = CAMPUS_KINDS.has(detail.kind);
  const open = isOpen(detail);
  const place = state.places.get(detail.room_id);
  container.replaceChildren(...[
    detail.drill ? el("div", { class: "drill-banner", role: "note", "data-drill-banner": "" }, "DRILL — NOT A REAL EMERGENCY") : null,
    !detail.drill && schoolsDrilling(state.alerts.values()).has(detail.school_id)
      ? el("div", { class: "real-banner", role: "alert", "data-real-banner": "" }, "REAL EMERGENCY — not part of the drill running at this school")
      : null,
    el("div", { class: `detail-head ${detail.drill ? "drill" : "real"}`, "data-alert-id": detail.id },
      el("h3", {}, `${kindLabel(detail.kind)}${detail.drill ? " (drill)" : ""}`),
      el("p", {}, `${schoolName(state, detail.school_id)} · ${roomName(state, detail)}${place ? ` · ${place.building}, ${place.floor}` : ""}`)),
    el("dl", { class: "facts" },
      el("dt", {}, "State"), el("dd", { "data-field": "state" }, STATE_LABEL[detail.state]),
      el("dt", {}, "Raised by"), el("dd", { "data-field": "raised-by" }, `${detail.raised_by.name} (${detail.raised_by.role.replace("_", " ")}) from the ${SOURCE_LABEL[detail.source] ?? detail.source}`),
      el("dt", {}, "Raised"), el("dd", {}, `${clock(detail.raised_at)} (${age(detail.raised_at, now)} ago)`),
      latePress(detail),
      detail.destination ? [el("dt", {}, "Evacuate to"), el("dd", {}, detail.destination)] : null,
      detail.hazard ? [el("dt", {}, "Hazard"), el("dd", {}, detail.hazard)] : null,
      detail.cancel_reason ? [el("dt", {}, "Cancelled because"), el("dd", {}, detail.cancel_reason)] : null,
      el("dt", {}, "Responders"), el("dd", { "data-field": "responders" }, responderSummary(detail))),
    el("div", { class: "actions", role: "group", "aria-label": "Actions" },
      actionButton("Acknowledge", "a", "acknowledge", open),
      actionButton("En route", "e", "en_route", open),
      actionButton("On scene", "o", "on_scene", open),
      campus ? actionButton("All clear", "r", "all_clear", open) : actionButton("Resolve", "r", "resolve", open),
      actionButton("Cancel…", "x", "cancel", open)),
    el("p", { class: "error", id: "action-error", role: "alert" }, state.actionError ?? ""),
    deliveriesSection(detail),
    reportSection(detail),
    timelineSection(detail)].filter(Boolean));
}
