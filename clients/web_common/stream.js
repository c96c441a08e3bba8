// /v1/stream over a WebSocket with the bearer token; resumes with since=<last id> after any
// drop, so no event is missed or repeated. onEvent(message, {replayed}); onState(state).

const BACKOFF_MS = [250, 500, 1000, 2000, 4000];
const DEAD_AFTER_MS = 50_000; // no message at all, not even a heartbeat: reconnect

export class Stream {
  constructor(auth, { onEvent, onState = () => {}, onSignedOut = () => {} }) {
    Object.assign(this, { auth, onEvent, onState, onSignedOut });
    this.lastId = null;
    this.attempt = 0;
    this.socket = null;
    this.stopped = false;
    this.watchdog = null;
  }

  async start() {
    if (this.stopped) return;
    let token;
    try { token = await this.auth.accessToken(); } catch { token = undefined; }
    if (token === null) { this.onSignedOut(); return; }
    if (token === undefined) { this.retry(); return; }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = new URLSearchParams({ access_token: token });
    if (this.lastId !== null) query.set("since", String(this.lastId));
    const socket = new WebSocket(`${scheme}://${location.host}/v1/stream?${query}`);
    this.socket = socket;
    let caughtUp = false;
    socket.onopen = () => { this.attempt = 0; this.arm(); };
    socket.onmessage = (message) => {
      this.arm();
      const data = JSON.parse(message.data);
      if (data.type === "caught_up") {
        caughtUp = true;
        this.lastId = data.id;
        this.onState("live");
        return;
      }
      if (typeof data.id === "number") this.lastId = data.id;
      if (data.type !== "heartbeat") this.onEvent(data, { replayed: !caughtUp });
    };
    socket.onclose = (close) => {
      if (socket !== this.socket) return;
      clearTimeout(this.watchdog);
      if (this.stopped) return;
      this.onState("down");
      if (close.code === 4400 && /since/.test(close.reason)) this.lastId = null;
      this.retry();
    };
  }

  retry() {
    const delay = BACKOFF_MS[Math.min(this.attempt++, BACKOFF_MS.length - 1)];
    setTimeout(() => this.start(), delay);
  }

  arm() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.socket?.close(4000, "no heartbeat"), DEAD_AFTER_MS);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.watchdog);
    this.socket?.close(1000, "signed out");
  }
}
