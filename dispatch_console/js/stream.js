// The live stream: /v1/stream over a WebSocket, authenticated by the session cookie.
//
// It resumes with since=<last id> after any drop, so nothing is missed or repeated and the
// console never reloads to catch up. It reports its state: "connecting", "catching-up"
// (replaying what was missed), "live", "down"; and since when it has been down.

const HEARTBEAT_MS = 15_000;
const DEAD_AFTER_MS = 3 * HEARTBEAT_MS + 5_000; // no message, not even a heartbeat: dead
const BACKOFF_MS = [250, 500, 1000, 2000, 4000];

export class LiveStream {
  // onEvent(message, {replayed}) for events; onState(state, downSince) on every change;
  // onReset() when the server's log was replaced (reload the state, start again).
  constructor({ onEvent, onState, onReset, onUnauthenticated }) {
    Object.assign(this, { onEvent, onState, onReset, onUnauthenticated });
    this.lastId = null; // null: not connected yet; start from the head of the log
    this.socket = null;
    this.attempt = 0;
    this.downSince = null;
    this.stopped = false;
    this.state = "connecting";
    this.watchdog = null;
  }

  start() { this.connect(); }

  stop() {
    this.stopped = true;
    clearTimeout(this.watchdog);
    this.socket?.close(1000, "signed out");
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const since = this.lastId === null ? "" : `?since=${this.lastId}`;
    return `${scheme}://${location.host}/v1/stream${since}`;
  }

  connect() {
    if (this.stopped) return;
    this.setState(this.downSince ? "down" : "connecting");
    const socket = new WebSocket(this.url());
    this.socket = socket;
    let caughtUp = false;
    socket.onopen = () => { this.attempt = 0; this.setState("catching-up"); this.arm(); };
    socket.onmessage = (message) => {
      this.arm();
      const data = JSON.parse(message.data);
      if (data.type === "caught_up") {
        caughtUp = true;
        this.lastId = data.id;
        this.downSince = null;
        this.setState("live");
        return;
      }
      if (typeof data.id === "number") this.lastId = data.id;
      if (data.type !== "heartbeat") this.onEvent(data, { replayed: !caughtUp });
    };
    socket.onclose = (close) => {
      if (socket !== this.socket) return;
      clearTimeout(this.watchdog);
      if (this.stopped) return;
      if (close.code === 4401) { this.onUnauthenticated(); return; }
      if (close.code === 4400 && /since/.test(close.reason)) {
        this.lastId = null; // the server's log is not the one we followed: start afresh
        this.onReset();
      }
      this.downSince ??= Date.now();
      this.setState("down");
      const delay = BACKOFF_MS[Math.min(this.attempt++, BACKOFF_MS.length - 1)];
      setTimeout(() => this.connect(), delay);
    };
  }

  arm() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.socket?.close(4000, "no heartbeat"), DEAD_AFTER_MS);
  }

  setState(state) {
    this.state = state;
    this.onState(state, this.downSince);
  }
}
