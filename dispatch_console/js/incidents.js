// The queue's order and its incidents. Pure: no DOM, no clock (now is passed in).
//
// A real lockdown makes dozens of presses from one school within seconds. They fold into one
// incident: same school, same kind, same drill flag, each raised within WINDOW_MS of the one
// before. Another kind, another school, or a drill beside a real alert never folds in, so a
// medical in the middle of a lockdown stays on its own row.

import { OPEN_STATES, SEVERITY_RANK } from "./format.js";

export const WINDOW_MS = 60_000;

const time = (alert) => Date.parse(alert.raised_at);

// Active first, then the most severe, then the oldest (it has waited longest).
export function compareAlerts(a, b) {
  const open = Number(OPEN_STATES.has(b.state)) - Number(OPEN_STATES.has(a.state));
  if (open !== 0) return open;
  const severity = (SEVERITY_RANK[b.severity] ?? 0) - (SEVERITY_RANK[a.severity] ?? 0);
  if (severity !== 0) return severity;
  if (!OPEN_STATES.has(a.state)) return time(b) - time(a); // closed: newest first
  return time(a) - time(b) || a.id.localeCompare(b.id);
}

// Group alerts into queue entries: {type: "alert", alert} or {type: "incident", key, alerts,
// rooms, first, kind, school_id, drill}. Only open alerts fold; closed ones stay single.
export function groupIncidents(alerts, windowMs = WINDOW_MS) {
  const byKey = new Map();
  const singles = [];
  for (const alert of alerts) {
    if (!OPEN_STATES.has(alert.state)) { singles.push(alert); continue; }
    const key = `${alert.school_id}|${alert.kind}|${alert.drill}`;
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key).push(alert);
  }
  const entries = singles.map((alert) => ({ type: "alert", alert }));
  for (const [key, group] of byKey) {
    group.sort((a, b) => time(a) - time(b));
    let run = [];
    const flush = () => {
      if (run.length === 1) entries.push({ type: "alert", alert: run[0] });
      else if (run.length > 1) entries.push(incident(key, run));
      run = [];
    };
    for (const alert of group) {
      if (run.length && time(alert) - time(run[run.length - 1]) > windowMs) flush();
      run.push(alert);
    }
    flush();
  }
  return entries.sort((a, b) => compareAlerts(lead(a), lead(b)));
}

function incident(key, alerts) {
  const first = alerts[0];
  const rooms = [...new Set(alerts.map((a) => a.room_id).filter(Boolean))];
  return {
    type: "incident", key: `${key}|${first.id}`, alerts, rooms, first: first.raised_at,
    kind: first.kind, school_id: first.school_id, drill: first.drill,
    severity: first.severity,
  };
}

// The alert that places an entry in the queue: an incident sorts by its first press.
export function lead(entry) {
  return entry.type === "alert" ? entry.alert : entry.alerts[0];
}

// The schools where a drill is running: a real alert there must stand out as REAL, so that
// nobody takes it for part of the drill.
export function schoolsDrilling(alerts) {
  return new Set([...alerts].filter((a) => a.drill && OPEN_STATES.has(a.state)).map((a) => a.school_id));
}

// The after-action report of an alert (format: "html", "csv" or "json").
export function reportPath(alertId, format = "html") {
  const query = format === "json" ? "" : `?format=${format}`;
  return `/v1/alerts/${encodeURIComponent(alertId)}/report${query}`;
}
