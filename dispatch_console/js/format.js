// How the console words things: kinds, states, sources, ages. Pure functions.

export const KIND_LABEL = {
  hold: "Hold", secure: "Secure", lockdown: "Lockdown", evacuate: "Evacuate",
  shelter: "Shelter", medical: "Medical", fire: "Fire", staff_assist: "Staff assist",
};
// Campus-wide kinds end with an all clear; the others are resolved (alertd/core/kind.py).
export const CAMPUS_KINDS = new Set(["hold", "secure", "lockdown", "evacuate", "shelter"]);
export const SEVERITY_RANK = { minor: 0, moderate: 1, severe: 2, extreme: 3 };
export const OPEN_STATES = new Set(["raised", "acknowledged", "responding"]);
export const STATE_LABEL = {
  raised: "NEW", acknowledged: "Acknowledged", responding: "Responding",
  resolved: "Resolved", cancelled: "Cancelled", all_clear: "All clear",
};
export const SOURCE_LABEL = {
  app: "staff app", wall_button: "wall button", badge: "badge", kiosk: "kiosk",
  console: "console", api: "API",
};
export const RESPONDER_LABEL = { acknowledged: "acknowledged", en_route: "en route", on_scene: "on scene" };
// Only "delivered" means the person was reached (alertd/core/delivery.py).
export const DELIVERY_LABEL = {
  queued: "queued, not sent yet", recorded: "NOT SENT: no SMS provider configured",
  sent: "sent, not confirmed", delivered: "delivered", undelivered: "NOT DELIVERED", failed: "FAILED",
};

export function isOpen(alert) { return OPEN_STATES.has(alert.state); }

export function kindLabel(kind) { return KIND_LABEL[kind] ?? kind; }

export function age(fromIso, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - Date.parse(fromIso)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours}h ${minutes % 60}m` : `${Math.floor(hours / 24)}d`;
}

export function clock(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

// Build a DOM element: el("p", {class: "x"}, "text", child ...). Text is never parsed as HTML.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
