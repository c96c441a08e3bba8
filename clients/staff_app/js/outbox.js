// The alert outbox: every press is written to IndexedDB first, then sent with its own
// Idempotency-Key until the server has it. The page and the service worker both flush it,
// one at a time (a Web Lock), and a retry reuses the key, so an alert is never raised twice.
//
// A record: {key, body, state, created, alert, error}. state: "queued" (the server does not
// have it yet: NOT SENT YET), "received" (the server answered 201 or 200), "refused" (a 4xx
// that retrying cannot fix, shown with the server's message).

import { ApiError } from "/clients-common/auth.js";

export const LOCK = "alertd-app-outbox";
const KEEP_MS = 24 * 3600_000; // received alerts are forgotten after a day

export function newRecord(body) {
  return { key: crypto.randomUUID(), body, state: "queued", created: Date.now(), alert: null, error: null };
}

// Send every queued alert once; returns the records that changed. Never throws.
export async function flush(store, auth) {
  return navigator.locks.request(LOCK, async () => {
    const changed = [];
    for (const record of await store.outbox()) {
      if (record.state !== "queued") {
        if (Date.now() - record.created > KEEP_MS) await store.deleteOutbox(record.key);
        continue;
      }
      try {
        const { data } = await auth.request("POST", "/v1/alerts", record.body, { "Idempotency-Key": record.key });
        Object.assign(record, { state: "received", alert: data, error: null });
      } catch (error) {
        if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 401 && error.status !== 429) {
          Object.assign(record, { state: "refused", error: error.message });
        } else {
          record.error = "offline"; // the network, a 5xx, a token we could not refresh: retry
          await store.putOutbox(record);
          continue;
        }
      }
      await store.putOutbox(record);
      changed.push(record);
    }
    return changed;
  });
}

// Withdraw an alert the server does not have yet; false if it was sent meanwhile.
export async function withdraw(store, key) {
  return navigator.locks.request(LOCK, async () => {
    const record = await store.getOutbox(key);
    if (!record || record.state !== "queued") return false;
    await store.deleteOutbox(key);
    return true;
  });
}
