// Location while responding, and the alert sound.
//
// The SRO's location is read only while they are responding (en route or on scene to an open
// alert) and goes to dispatch with their status reports; the watch stops the moment they are
// no longer responding. The app always says which it is.

export class LocationShare {
  constructor(onChange, onFix = () => {}) {
    this.onChange = onChange; // (state) with state "off" | "on" | "unavailable"
    this.onFix = onFix; // (position) on every new position while sharing
    this.watch = null;
    this.position = null;
    this.state = "off";
  }

  // Call whenever the SRO's responding status may have changed.
  responding(yes) {
    if (yes && this.watch === null && "geolocation" in navigator) {
      this.set("on");
      this.watch = navigator.geolocation.watchPosition(
        (position) => { this.position = position.coords; this.set("on"); this.onFix(this.current()); },
        () => { this.position = null; this.set("unavailable"); },
        { enableHighAccuracy: true, maximumAge: 10_000 },
      );
    } else if (yes && !("geolocation" in navigator)) {
      this.set("unavailable");
    } else if (!yes && this.watch !== null) {
      navigator.geolocation.clearWatch(this.watch);
      this.watch = null;
      this.position = null;
      this.set("off");
    }
  }

  set(state) { this.state = state; this.onChange(state); }

  // The position as it stands, for a status report; null when not shared.
  current() {
    if (this.watch === null || !this.position) return null;
    const { latitude, longitude, accuracy } = this.position;
    return { lat: latitude.toFixed(6), lon: longitude.toFixed(6), accuracy: Math.round(accuracy) };
  }
}

export class Siren {
  constructor() { this.context = null; this.plays = 0; }

  // From a user gesture (the browser allows sound after one).
  unlock() {
    try { this.context ??= new AudioContext(); this.context.resume(); } catch { this.context = null; }
  }

  sound({ drill }) {
    this.plays += 1;
    document.body.dataset.alarmPlays = String(this.plays);
    navigator.vibrate?.(drill ? [200] : [400, 150, 400, 150, 400]);
    if (!this.context) return;
    const now = this.context.currentTime;
    for (let i = 0; i < (drill ? 1 : 3); i++) {
      const tone = this.context.createOscillator();
      const gain = this.context.createGain();
      tone.frequency.value = drill ? 660 : 880;
      gain.gain.setValueAtTime(0.25, now + i * 0.5);
      gain.gain.exponentialRampToValueAtTime(0.001, now + i * 0.5 + 0.4);
      tone.connect(gain).connect(this.context.destination);
      tone.start(now + i * 0.5);
      tone.stop(now + i * 0.5 + 0.4);
    }
  }
}
