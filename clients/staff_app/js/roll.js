// The roll (room accountability): while a lockdown, evacuation or shelter is open at the
// person's school, a banner asks them to report their room (or their group, when away from
// any room), and one screen takes the report: secured or needs help, how many students are
// present, who is missing, injured or extra. The server keeps the roll; a later report of
// the same room replaces the earlier one. A report is sent with an Idempotency-Key kept
// until the server answers, so a retry after a lost answer records it once.

export const ROLL_KINDS = new Set(["lockdown", "evacuate", "shelter"]);
const OPEN_STATES = new Set(["raised", "acknowledged", "responding"]);

export function names(text) {
  return text.split(/\n|,/).map((s) => s.trim()).filter(Boolean);
}

export class RollCall {
  constructor({ auth, t, show, room, onSignedOut }) {
    this.auth = auth;
    this.t = t;
    this.show = show; // show("roll") / show("panel")
    this.room = room; // () => the app's room {id, school_id, label}
    this.onSignedOut = onSignedOut;
    this.alert = null; // the open alert that keeps a roll, at the person's school
    this.mine = null; // the person's latest report in this roll (room or group)
    this.reminded = false;
    this.pending = null; // {key, body}: a report sent and not yet answered
    this.roll = null; // the last roll read (destination, reunification sites)
    const $ = (id) => document.getElementById(id);
    this.$ = $;
    $("roll-open").addEventListener("click", () => this.open());
    $("roll-back").addEventListener("click", () => this.show("panel"));
    $("roll-form").addEventListener("submit", (event) => { event.preventDefault(); this.send(); });
    $("roll-minus").addEventListener("click", () => this.step(-1));
    $("roll-plus").addEventListener("click", () => this.step(1));
    for (const radio of document.querySelectorAll("input[name=roll-for]")) {
      radio.addEventListener("change", () => { $("roll-group-field").hidden = !$("roll-for-group").checked; });
    }
  }

  // Called with every alert the app learns of (answers and stream events).
  seen(alert) {
    const room = this.room();
    const here = room && alert.school_id === room.school_id;
    const open = ROLL_KINDS.has(alert.kind) && OPEN_STATES.has(alert.state);
    if (this.alert?.id === alert.id) {
      if (!open || !here) { this.alert = null; this.mine = null; this.reminded = false; }
      else {
        if (alert.kind !== this.alert.kind) { this.mine = null; } // an upgrade: a new roll
        this.alert = alert;
      }
    } else if (open && here && (!this.alert || alert.raised_at > this.alert.raised_at)) {
      this.alert = alert;
      this.mine = null;
      this.reminded = false;
      this.load();
    }
    this.render();
  }

  // Stream events of the roll itself.
  event(message) {
    if (!this.alert || message.alert_id !== this.alert.id) return;
    if (message.type === "RoomReported" && this.isMine(message.data, message.actor)) {
      this.mine = { ...message.data, reported_at: message.at };
      this.reminded = false;
    }
    if (message.type === "RollReminder") {
      const room = this.room();
      this.reminded = !this.mine && (message.data.room_ids.includes(room?.id) || !room?.id);
    }
    this.render();
  }

  isMine(data, actor) {
    const room = this.room();
    if (data.room_id) return data.room_id === room?.id;
    return actor?.id === this.me;
  }

  async load() {
    const alert = this.alert;
    if (!alert) return;
    try {
      if (!this.me) this.me = (await this.auth.get("/v1/auth/me")).id;
      const roll = await this.auth.get(`/v1/alerts/${encodeURIComponent(alert.id)}/roll`);
      if (this.alert?.id !== alert.id) return;
      this.roll = roll;
      const room = this.room();
      const line = roll.rooms.find((r) => r.room_id === room?.id && r.status !== "not_reported");
      const group = roll.groups.find((g) => g.reported_by.id === this.me);
      const latest = [line, group].filter(Boolean).sort((a, b) => (a.reported_at < b.reported_at ? 1 : -1))[0];
      this.mine = latest ? { ...latest, room_id: line === latest ? room.id : null } : null;
      this.render();
    } catch (error) {
      if (error.status === 401) this.onSignedOut();
    }
  }

  label() {
    const room = this.room();
    return this.mine?.group ?? room?.label ?? "";
  }

  render() {
    const $ = this.$;
    const t = this.t;
    const alert = this.alert;
    $("roll-call").hidden = !alert;
    if (!alert) return;
    $("roll-reminder").hidden = !this.reminded;
    $("roll-reminder").textContent = this.reminded ? t("roll.reminder") : "";
    const mine = this.mine;
    const state = mine
      ? t("roll.reported", {
        status: t(`roll.${mine.status}`),
        count: mine.students_present,
        time: new Date(mine.reported_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }),
      })
      : t("roll.not_reported", { room: this.room()?.label ?? "" });
    if ($("roll-call-state").textContent !== state) $("roll-call-state").textContent = state;
    $("roll-call").dataset.status = mine ? mine.status : "not_reported";
    $("roll-open").textContent = mine ? t("roll.update") : t("roll.open");
  }

  open() {
    const $ = this.$;
    const t = this.t;
    const alert = this.alert;
    if (!alert) return;
    const room = this.room();
    $("roll-title").textContent = (alert.drill ? `${t("drill")} ` : "") + t("roll.title", { kind: t(`kind.${alert.kind}`) });
    $("roll-where").textContent = alert.destination ? t("evacuate.to", { place: alert.destination }) : "";
    $("roll-for-room-label").textContent = t("roll.for_room", { room: room?.label ?? "" });
    $("roll-for-room").disabled = !room?.id;
    const mine = this.mine;
    const byGroup = Boolean(mine?.group) || !room?.id;
    $("roll-for-group").checked = byGroup;
    $("roll-for-room").checked = !byGroup;
    $("roll-group-field").hidden = !byGroup;
    $("roll-group").value = mine?.group ?? "";
    $("roll-secured").checked = mine?.status === "secured";
    $("roll-needs-help").checked = mine?.status === "needs_help";
    $("roll-present").value = mine ? String(mine.students_present) : "";
    $("roll-missing").value = (mine?.missing ?? []).join("\n");
    $("roll-injured").value = (mine?.injured ?? []).join("\n");
    $("roll-extra").value = (mine?.extra ?? []).join("\n");
    $("roll-note").value = "";
    $("roll-error").textContent = "";
    this.renderSites();
    this.show("roll");
    $("roll-title").focus?.();
    this.load().then(() => this.renderSites());
  }

  renderSites() {
    const $ = this.$;
    const sites = this.roll?.alert_id === this.alert?.id ? this.roll.reunification_sites : [];
    $("roll-sites").hidden = !sites.length;
    $("roll-site-list").replaceChildren(...sites.map((site) => {
      const li = document.createElement("li");
      li.textContent = [site.name, site.address, site.note].filter(Boolean).join(" — ");
      return li;
    }));
  }

  step(by) {
    const input = this.$("roll-present");
    const now = Number.parseInt(input.value, 10);
    input.value = String(Math.max(0, (Number.isNaN(now) ? 0 : now) + by));
  }

  body() {
    const $ = this.$;
    const t = this.t;
    const status = document.querySelector("input[name=roll-status]:checked")?.value;
    const present = $("roll-present").value.trim();
    const byGroup = $("roll-for-group").checked;
    const group = $("roll-group").value.trim();
    if (byGroup && !group) return { error: t("roll.need_group"), focus: "roll-group" };
    if (!status) return { error: t("roll.need_status"), focus: "roll-secured" };
    if (!/^\d+$/.test(present)) return { error: t("roll.need_present"), focus: "roll-present" };
    return {
      body: {
        room_id: byGroup ? null : this.room().id,
        group: byGroup ? group : null,
        status,
        students_present: Number.parseInt(present, 10),
        missing: names($("roll-missing").value),
        injured: names($("roll-injured").value),
        extra: names($("roll-extra").value),
        note: $("roll-note").value.trim() || null,
      },
    };
  }

  async send() {
    const $ = this.$;
    const t = this.t;
    const alert = this.alert;
    $("roll-error").textContent = "";
    if (!alert) return this.show("panel");
    const { body, error, focus } = this.body();
    if (error) { $("roll-error").textContent = error; $(focus).focus(); return; }
    const same = this.pending && JSON.stringify(this.pending.body) === JSON.stringify(body);
    if (!same) this.pending = { key: crypto.randomUUID(), body };
    $("roll-send").disabled = true;
    try {
      const path = `/v1/alerts/${encodeURIComponent(alert.id)}/roll`;
      const { data: entry } = await this.auth.request("POST", path, body, { "Idempotency-Key": this.pending.key });
      this.pending = null;
      this.mine = entry;
      this.reminded = false;
      this.render();
      this.show("panel");
      $("roll-open").focus();
    } catch (failure) {
      if (failure.status === 401) return this.onSignedOut();
      const answer = failure.status ? t("roll.refused", { message: failure.message }) : t("roll.not_sent");
      $("roll-error").textContent = answer;
      if (failure.status) this.pending = null; // refused as sent: a changed report gets a new key
    } finally {
      $("roll-send").disabled = false;
    }
  }
}
