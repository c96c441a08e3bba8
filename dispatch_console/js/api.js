// The public HTTP API, signed in with the session cookie; unsafe requests carry the CSRF token.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `request failed (${status})`);
    this.status = status;
    this.field = body?.field ?? null;
    this.code = body?.error ?? null;
  }
}

function csrfFromCookie() {
  const match = document.cookie.match(/(?:^|;\s*)alertd_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export class Api {
  constructor() { this.csrf = csrfFromCookie(); }

  async request(method, path, body, contentType = "application/json") {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = contentType;
    if (method !== "GET") headers["X-CSRF-Token"] = this.csrf || csrfFromCookie();
    const raw = body instanceof Blob || body instanceof ArrayBuffer;
    const answer = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined || raw ? body : JSON.stringify(body),
    });
    const text = await answer.text();
    const data = text ? JSON.parse(text) : null;
    if (!answer.ok) throw new ApiError(answer.status, data);
    return data;
  }

  get(path) { return this.request("GET", path); }
  post(path, body = {}) { return this.request("POST", path, body); }
  patch(path, body) { return this.request("PATCH", path, body); }
  delete(path) { return this.request("DELETE", path); }
  // A file as it is (an IMDF zip): not JSON.
  upload(method, path, file, contentType) { return this.request(method, path, file, contentType); }

  async signIn(username, password, totpCode) {
    const body = { username, password };
    if (totpCode) body.totp_code = totpCode;
    const answer = await this.post("/v1/auth/session", body);
    this.csrf = answer.csrf_token;
  }

  signOut() { return this.post("/v1/auth/logout"); }
}
