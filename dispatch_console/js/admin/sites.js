// Schools and sites: what each school's site holds, its floor plans as an IMDF archive, and
// uploads: a site document (JSON, POST /v1/sites) or an IMDF archive for one school
// (PUT /v1/schools/{id}/imdf). A refused upload shows the API's error, naming the field.

import { ApiError } from "../api.js";
import { el } from "../format.js";
import { announce, field, formError, option, showError, submitting, table } from "./ui.js";

const NEW_SCHOOL = "";

export async function renderSites(section, admin) {
  const list = el("div", { id: "schools-list" });
  const result = el("p", { id: "upload-result", role: "status" });
  section.append(
    el("h2", { id: "sites-title" }, "Schools and sites"),
    el("div", { class: "panel" }, el("h3", {}, "Schools"), list),
    documentForm(admin, result, refresh),
    imdfForm(admin, result, refresh),
    el("div", { class: "panel" }, result),
  );

  async function refresh() {
    await admin.loadSchools();
    const trees = await Promise.all(admin.schools.map((s) => admin.tree(s.id)));
    list.replaceChildren(trees.length
      ? table("Schools", ["School", "Id", "Buildings", "Floors", "Rooms", "Floor plans"], trees.map((tree) => {
        const floors = tree.buildings.flatMap((b) => b.floors);
        return el("tr", { "data-school-id": tree.id },
          el("td", {}, tree.name), el("td", {}, tree.id),
          el("td", {}, tree.buildings.length), el("td", {}, floors.length),
          el("td", {}, floors.reduce((n, f) => n + f.rooms.length, 0)),
          el("td", {}, el("a", { href: `/v1/schools/${encodeURIComponent(tree.id)}/imdf`, download: `${tree.id}-imdf.zip` }, `Download IMDF (${tree.name})`)));
      }))
      : el("p", {}, "No schools yet."));
  }

  await refresh();
}

function documentForm(admin, result, refresh) {
  const form = el("form", { class: "form-grid", novalidate: true, "data-form": "site-document" },
    field("Site document (JSON)", el("input", { name: "document", type: "file", accept: ".json,application/json", required: true }),
      "the district, its agencies and schools, as in schemas/site.schema.json; replaces the schools it names"),
    el("div", { class: "form-actions" }, el("button", { type: "submit", class: "primary" }, "Upload site document")),
    formError());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = form.elements.document.files[0];
    if (!file) { showError(form, new ApiError(422, { field: "document", message: "choose a site document" })); return; }
    let site;
    try { site = JSON.parse(await file.text()); } catch {
      showError(form, new ApiError(422, { field: "document", message: `${file.name} is not JSON` }));
      return;
    }
    const loaded = await submitting(form, () => admin.api.post("/v1/sites", site));
    if (!loaded) return;
    result.textContent = `Loaded ${file.name}: ${loaded.schools.length} school(s) (${loaded.schools.join(", ")}), ${loaded.rooms} rooms.`;
    announce(result.textContent);
    form.reset();
    await refresh();
  });
  return el("div", { class: "panel" }, el("h3", {}, "Upload a site document"), form);
}

function imdfForm(admin, result, refresh) {
  const district = admin.me.role === "district_admin";
  const school = el("select", { name: "school_id" },
    admin.schools.map((s) => option(s.id, s.name)),
    district ? option(NEW_SCHOOL, "A new school…") : null);
  const newId = el("input", { name: "new_school_id", autocomplete: "off", pattern: "[A-Za-z0-9][A-Za-z0-9_.:-]*" });
  const form = el("form", { class: "form-grid", novalidate: true, "data-form": "imdf" },
    field("Replace the floor plans of", school),
    district ? field("New school's id", newId, "letters, digits, - _ . :") : null,
    field("School name", el("input", { name: "name", autocomplete: "off" }), "needed for a new school; empty keeps the name"),
    district ? field("Time zone (new school)", el("input", { name: "timezone", autocomplete: "off", value: "UTC" })) : null,
    field("IMDF archive (.zip)", el("input", { name: "archive", type: "file", accept: ".zip,application/zip", required: true })),
    el("div", { class: "form-actions" }, el("button", { type: "submit", class: "primary" }, "Import floor plans")),
    formError());
  const sync = () => { if (district) newId.closest("label").hidden = school.value !== NEW_SCHOOL; };
  school.addEventListener("change", sync);
  sync();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = form.elements.archive.files[0];
    if (!file) { showError(form, new ApiError(422, { field: "archive", message: "choose an IMDF archive" })); return; }
    const id = school.value === NEW_SCHOOL ? newId.value.trim() : school.value;
    if (!id) { showError(form, new ApiError(422, { field: "new_school_id", message: "give the new school an id" })); return; }
    const query = new URLSearchParams();
    if (form.elements.name.value.trim()) query.set("name", form.elements.name.value.trim());
    if (form.elements.timezone?.value.trim()) query.set("timezone", form.elements.timezone.value.trim());
    const path = `/v1/schools/${encodeURIComponent(id)}/imdf?${query}`;
    const done = await submitting(form, () => admin.api.upload("PUT", path, file, "application/zip"));
    if (!done) return;
    result.textContent = `${done.created ? "Created" : "Replaced"} the floor plans of ${done.name}: ` +
      `${done.buildings} building(s), ${done.levels} floor(s), ${done.units} room(s)` +
      (done.skipped.length ? `; left out: ${done.skipped.join("; ")}` : ".");
    announce(result.textContent);
    form.reset();
    await refresh();
  });
  return el("div", { class: "panel" }, el("h3", {}, "Import floor plans (IMDF)"), form);
}
