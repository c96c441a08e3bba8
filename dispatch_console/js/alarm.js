// A new alert must not be missed: an alarm tone (Web Audio), a flashing title, and a
// takeover that only a deliberate "I have seen it" ends (not Escape, not a click beside it,
// not a key already held down when it appeared). A drill gets a softer chime and is labelled.

const REPEAT_MS = 4000;
const ARM_MS = 800; // the confirm button waits this long, so a keystroke in flight can't end it

export class Alarm {
  constructor({ overlay, list, title, seenButton, onSeen }) {
    Object.assign(this, { overlay, list, title, seenButton, onSeen });
    this.pending = new Map(); // alert id -> {label, drill}
    this.context = null;
    this.timer = null;
    this.plays = 0;
    this.baseTitle = document.title;
    seenButton.addEventListener("click", () => this.seen());
    overlay.addEventListener("keydown", (e) => { if (e.key === "Escape") e.preventDefault(); });
  }

  // Call from a user gesture (signing in), so the browser lets the page make sound.
  unlock() {
    try {
      this.context ??= new AudioContext();
      this.context.resume();
    } catch { /* no audio device: the takeover and the title still show */ }
  }

  raise(alertId, label, drill) {
    const first = this.pending.size === 0;
    this.pending.set(alertId, { label, drill });
    this.render();
    if (first) {
      this.seenButton.disabled = true;
      setTimeout(() => { this.seenButton.disabled = false; this.seenButton.focus(); }, ARM_MS);
      this.ring();
    }
  }

  render() {
    const items = [...this.pending.values()];
    const real = items.some((i) => !i.drill);
    this.overlay.hidden = false;
    this.overlay.querySelector(".takeover-box").classList.toggle("drill", !real);
    this.title.textContent = real
      ? `NEW ALERT${items.length > 1 ? `S (${items.length})` : ""}`
      : `DRILL — NOT A REAL EMERGENCY${items.length > 1 ? ` (${items.length})` : ""}`;
    const shown = items.slice(-8).map((i) => {
      const li = document.createElement("li");
      li.textContent = i.drill ? `DRILL: ${i.label}` : i.label;
      return li;
    });
    if (items.length > 8) {
      const more = document.createElement("li");
      more.textContent = `… and ${items.length - 8} more`;
      shown.unshift(more);
    }
    this.list.replaceChildren(...shown);
    document.body.dataset.alarm = real ? "real" : "drill";
  }

  ring() {
    const items = [...this.pending.values()];
    if (!items.length) return;
    const real = items.some((i) => !i.drill);
    this.tone(real);
    document.title = document.title.startsWith("⚠") ? this.baseTitle : `⚠ ${this.title.textContent}`;
    this.timer = setTimeout(() => this.ring(), real ? REPEAT_MS : REPEAT_MS * 3);
    this.flash = setInterval(() => {
      document.title = document.title.startsWith("⚠") ? this.baseTitle : `⚠ ${this.title.textContent}`;
    }, 700);
    setTimeout(() => clearInterval(this.flash), real ? REPEAT_MS : REPEAT_MS * 3);
  }

  tone(real) {
    this.plays += 1;
    document.body.dataset.alarmPlays = String(this.plays);
    if (!this.context) return;
    const now = this.context.currentTime;
    const notes = real ? [880, 660, 880, 660, 880, 660] : [523, 659];
    notes.forEach((frequency, i) => {
      const oscillator = this.context.createOscillator();
      const gain = this.context.createGain();
      oscillator.type = real ? "square" : "sine";
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(real ? 0.25 : 0.12, now + i * 0.25);
      gain.gain.exponentialRampToValueAtTime(0.001, now + i * 0.25 + 0.22);
      oscillator.connect(gain).connect(this.context.destination);
      oscillator.start(now + i * 0.25);
      oscillator.stop(now + i * 0.25 + 0.23);
    });
  }

  seen() {
    if (this.seenButton.disabled) return;
    const ids = [...this.pending.keys()];
    this.pending.clear();
    clearTimeout(this.timer);
    clearInterval(this.flash);
    this.overlay.hidden = true;
    document.title = this.baseTitle;
    delete document.body.dataset.alarm;
    this.onSeen(ids);
  }
}
