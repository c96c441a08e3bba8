// Sign in once: an access token and a refresh token (POST /v1/auth/token), kept in
// IndexedDB so that the page and the service worker both act as the signed-in person.
//
// Refresh tokens are single use (a reused one signs the person out everywhere), so every
// refresh runs under a Web Lock shared by the page and the service worker.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `request failed (${status})`);
    this.status = status;
    this.field = body?.field ?? null;
    this.code = body?.error ?? null;
  }
}

const EARLY_MS = 30_000; // refresh this long before the access token runs out

export class Auth {
  constructor(store) {
    this.store = store;
    this.lockName = `${store.name}-token`;
  }

  async signedIn() { return Boolean(await this.store.get("tokens")); }

  async signIn(username, password) {
    const form = new URLSearchParams({ username, password });
    const answer = await fetch("/v1/auth/token", { method: "POST", body: form });
    const data = await answer.json().catch(() => null);
    if (!answer.ok) throw new ApiError(answer.status, data);
    await this.keep(data);
    const me = await this.get("/v1/auth/me");
    await this.store.set("me", me);
    return me;
  }

  async keep(data) {
    await this.store.set("tokens", {
      access: data.access_token,
      refresh: data.refresh_token,
      expires: Date.now() + data.expires_in * 1000,
    });
  }

  async signOut() {
    const tokens = await this.store.get("tokens");
    await this.store.delete("tokens");
    await this.store.delete("me");
    if (tokens) {
      const form = new URLSearchParams({ refresh_token: tokens.refresh });
      await fetch("/v1/auth/logout", { method: "POST", body: form }).catch(() => null);
    }
  }

  // A fresh access token, refreshing under the lock; null when signed out.
  async accessToken({ force = false } = {}) {
    const tokens = await this.store.get("tokens");
    if (!tokens) return null;
    if (!force && tokens.expires - EARLY_MS > Date.now()) return tokens.access;
    return navigator.locks.request(this.lockName, async () => {
      const current = await this.store.get("tokens");
      if (!current) return null;
      if (current.access !== tokens.access) return current.access; // refreshed meanwhile
      const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: current.refresh });
      const answer = await fetch("/v1/auth/token", { method: "POST", body: form });
      if (answer.status === 401) {
        await this.store.delete("tokens");
        return null;
      }
      if (!answer.ok) throw new ApiError(answer.status, null); // offline, 5xx: try later
      await this.keep(await answer.json());
      return (await this.store.get("tokens")).access;
    });
  }

  // One API call as the signed-in person. Network failures throw TypeError (retry later);
  // answers that are not 2xx throw ApiError.
  async request(method, path, body, headers = {}) {
    for (const force of [false, true]) {
      const token = await this.accessToken({ force });
      if (!token) throw new ApiError(401, { error: "unauthenticated", message: "sign in" });
      const init = { method, headers: { Accept: "application/json", Authorization: `Bearer ${token}`, ...headers } };
      if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      const answer = await fetch(path, init);
      if (answer.status === 401 && !force) continue;
      const text = await answer.text();
      const data = text ? JSON.parse(text) : null;
      if (!answer.ok) throw new ApiError(answer.status, data);
      return { status: answer.status, data };
    }
    throw new ApiError(401, { error: "unauthenticated", message: "sign in" });
  }

  async get(path) { return (await this.request("GET", path)).data; }
  async post(path, body = {}) { return (await this.request("POST", path, body)).data; }
}
