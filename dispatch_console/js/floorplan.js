// The floor plan: a floor's outline and rooms drawn as SVG from the site's GeoJSON (WGS84,
// the IMDF convention), with room labels, pulsing alert rooms, the roll's room statuses
// (secured, needs help, not reported), camera icons, zoom and pan.

const SVG = "http://www.w3.org/2000/svg";
const M_PER_DEG_LAT = 111_132;
const ROLL_ORDER = ["secured", "needs_help", "not_reported"];
const ROLL_LABEL = { secured: "secured", needs_help: "needs help", not_reported: "not reported" };

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

function rings(geometry) {
  if (!geometry) return [];
  return geometry.type === "MultiPolygon" ? geometry.coordinates.flat() : geometry.coordinates;
}

// Local metres around the floor's centre (x east, y south, as SVG draws).
function projection(outline) {
  const points = rings(outline).flat();
  const lon0 = points.reduce((s, p) => s + p[0], 0) / points.length;
  const lat0 = points.reduce((s, p) => s + p[1], 0) / points.length;
  const mPerDegLon = M_PER_DEG_LAT * Math.cos((lat0 * Math.PI) / 180);
  return ([lon, lat]) => [(lon - lon0) * mPerDegLon, -(lat - lat0) * M_PER_DEG_LAT];
}

function pathOf(geometry, project) {
  return rings(geometry)
    .map((ring) => ring.map((p, i) => `${i ? "L" : "M"}${project(p).map((v) => v.toFixed(2)).join(",")}`).join("") + "Z")
    .join("");
}

function bounds(geometry, project) {
  const xs = [], ys = [];
  for (const p of rings(geometry).flat()) { const [x, y] = project(p); xs.push(x); ys.push(y); }
  return { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) };
}

// Where a room's label goes: the middle of its largest ring's box (rooms are mostly boxes).
function labelPoint(geometry, project) {
  const b = bounds(geometry, project);
  return [(b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2, b.x1 - b.x0, b.y1 - b.y0];
}

export class FloorPlan {
  constructor(container) {
    this.container = container;
    this.view = null; // {x, y, w, h}
    this.home = null;
    this.svg = null;
    this.dragging = null;
    container.addEventListener("wheel", (e) => { e.preventDefault(); this.zoom(e.deltaY < 0 ? 1.25 : 0.8, e); }, { passive: false });
    container.addEventListener("pointerdown", (e) => this.startDrag(e));
    container.addEventListener("pointermove", (e) => this.drag(e));
    container.addEventListener("pointerup", () => { this.dragging = null; });
    container.addEventListener("pointerleave", () => { this.dragging = null; });
    container.addEventListener("keydown", (e) => this.key(e));
  }

  // Draw `floor` ({outline, rooms, cameras}); `alerts` maps room id -> {drill, selected};
  // `roll` maps room id -> the roll's status of the room (secured, needs_help, not_reported).
  draw(floor, { alerts = new Map(), roll = null, label = "" } = {}) {
    this.container.replaceChildren();
    if (!floor) return;
    const project = projection(floor.outline);
    const box = bounds(floor.outline, project);
    const pad = Math.max(box.x1 - box.x0, box.y1 - box.y0) * 0.04;
    this.home = { x: box.x0 - pad, y: box.y0 - pad, w: box.x1 - box.x0 + 2 * pad, h: box.y1 - box.y0 + 2 * pad };
    const keepView = this.floorId === floor.id && this.view;
    this.floorId = floor.id;
    if (!keepView) this.view = { ...this.home };
    const alerted = [...alerts.keys()].map((id) => floor.rooms.find((r) => r.id === id)?.name).filter(Boolean);
    const statuses = roll ?? new Map();
    const rollText = roll ? `; roll: ${ROLL_ORDER.map((s) => `${floor.rooms.filter((r) => statuses.get(r.id) === s).length} ${ROLL_LABEL[s]}`).join(", ")}` : "";
    const root = svg("svg", { role: "img", "aria-label": `${label}${alerted.length ? `; alert in ${alerted.join(", ")}` : "; no alert on this floor"}${rollText}` });
    root.append(svg("path", { d: pathOf(floor.outline, project), class: "outline" }));
    const labels = svg("g");
    for (const room of floor.rooms) {
      const alert = alerts.get(room.id);
      const classes = ["room", room.type];
      if (alert) classes.push("alerted", alert.drill ? "drill" : "real");
      if (alert?.selected) classes.push("selected");
      const status = statuses.get(room.id);
      if (status) classes.push(`roll-${status}`);
      const attributes = { d: pathOf(room.geometry, project), class: classes.join(" "), "data-room-id": room.id };
      if (status) attributes["data-roll-status"] = status;
      const shape = svg("path", attributes);
      const title = svg("title");
      title.textContent = `${room.name}${alert ? (alert.drill ? " — DRILL alert" : " — ALERT") : ""}${status ? ` — ${ROLL_LABEL[status]}` : ""}`;
      shape.append(title);
      root.append(shape);
      const [x, y, w, h] = labelPoint(room.geometry, project);
      const words = room.name.length <= 14 ? room.name : room.number;
      const size = Math.max(0.5, Math.min(2.2, h / 3, (0.9 * w) / (0.6 * Math.max(3, words.length))));
      const dark = alert || status === "secured" || status === "needs_help";
      const text = svg("text", { x: x.toFixed(2), y: y.toFixed(2), "font-size": size.toFixed(2), class: dark ? "on-alert" : "" });
      text.textContent = words;
      labels.append(text);
    }
    root.append(labels);
    for (const camera of floor.cameras ?? []) root.append(this.camera(camera, project, floor));
    this.svg = root;
    this.container.append(root);
    this.apply();
  }

  camera(camera, project, floor) {
    const [x, y] = project(camera.position);
    const covered = camera.room_ids.map((id) => floor.rooms.find((r) => r.id === id)?.name ?? id);
    const group = svg("g", { class: "camera", "data-camera-id": camera.id, transform: `translate(${x.toFixed(2)},${y.toFixed(2)})` });
    const title = svg("title");
    title.textContent = `Camera: ${camera.name}; covers ${covered.join(", ") || "no room"}`;
    group.append(title, svg("rect", { x: -1.4, y: -0.9, width: 2.2, height: 1.8, rx: 0.3 }),
      svg("path", { d: "M0.8,-0.5 L1.6,-1 L1.6,1 L0.8,0.5 Z" }), svg("circle", { cx: -0.3, cy: 0, r: 0.45 }));
    return group;
  }

  apply() {
    if (!this.svg || !this.view) return;
    const { x, y, w, h } = this.view;
    this.svg.setAttribute("viewBox", `${x} ${y} ${w} ${h}`);
  }

  zoom(factor, at) {
    if (!this.view) return;
    const rect = this.container.getBoundingClientRect();
    const fx = at?.clientX !== undefined ? (at.clientX - rect.left) / rect.width : 0.5;
    const fy = at?.clientY !== undefined ? (at.clientY - rect.top) / rect.height : 0.5;
    const w = Math.min(this.home.w * 4, Math.max(this.home.w / 20, this.view.w / factor));
    const h = this.view.h * (w / this.view.w);
    this.view = { x: this.view.x + (this.view.w - w) * fx, y: this.view.y + (this.view.h - h) * fy, w, h };
    this.apply();
  }

  reset() { if (this.home) { this.view = { ...this.home }; this.apply(); } }

  pan(dx, dy) { if (this.view) { this.view.x += dx * this.view.w; this.view.y += dy * this.view.h; this.apply(); } }

  startDrag(e) {
    if (!this.view) return;
    this.dragging = { x: e.clientX, y: e.clientY, view: { ...this.view } };
  }

  drag(e) {
    if (!this.dragging) return;
    const rect = this.container.getBoundingClientRect();
    const scale = this.view.w / rect.width;
    this.view.x = this.dragging.view.x - (e.clientX - this.dragging.x) * scale;
    this.view.y = this.dragging.view.y - (e.clientY - this.dragging.y) * scale;
    this.apply();
  }

  key(e) {
    const moves = { ArrowLeft: [-0.1, 0], ArrowRight: [0.1, 0], ArrowUp: [0, -0.1], ArrowDown: [0, 0.1] };
    if (moves[e.key]) { e.preventDefault(); e.stopPropagation(); this.pan(...moves[e.key]); }
    else if (e.key === "+" || e.key === "=") { e.stopPropagation(); this.zoom(1.25); }
    else if (e.key === "-") { e.stopPropagation(); this.zoom(0.8); }
    else if (e.key === "0") { e.stopPropagation(); this.reset(); }
  }
}
