// The staff app's service worker: keeps the app loadable offline, holds the alert outbox
// (IndexedDB) and retries it with the same Idempotency-Key until the server has each alert,
// and shows campus-wide instructions that arrive as Web Push, silently.

import { Auth } from "/clients-common/auth.js";
import { Store } from "/clients-common/idb.js";
import { chooseLanguage, translator } from "/clients-common/i18n.js";
import { flush } from "./js/outbox.js";
import en from "./locales/en.js";
import es from "./locales/es.js";

const CACHE = "alertd-app-v2";
const SHELL = [
  "/app/", "/app/index.html", "/app/app.css", "/app/manifest.webmanifest", "/app/icon.svg",
  "/app/js/app.js", "/app/js/outbox.js", "/app/js/hold.js", "/app/js/rooms.js", "/app/js/roll.js",
  "/app/locales/en.js", "/app/locales/es.js",
  "/clients-common/auth.js", "/clients-common/idb.js", "/clients-common/i18n.js",
  "/clients-common/stream.js",
];
const RETRY_MS = 2000;

const store = new Store("alertd-app");
const auth = new Auth(store);
let retrying = null;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
    await send();
  })());
});

// The app's own files: from the network when it answers (updates apply at once), else cached.
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/v1/")) return;
  event.respondWith((async () => {
    try {
      const answer = await fetch(event.request);
      if (answer.ok) (await caches.open(CACHE)).put(event.request, answer.clone());
      return answer;
    } catch (error) {
      const cached = await caches.match(event.request, { ignoreSearch: true });
      if (cached) return cached;
      throw error;
    }
  })());
});

async function tell(records) {
  if (!records.length) return;
  for (const client of await self.clients.matchAll({ includeUncontrolled: true })) {
    client.postMessage({ type: "outbox", records });
  }
}

// Send what is queued; while anything is still queued, try again every RETRY_MS.
async function send() {
  await tell(await flush(store, auth));
  const waiting = (await store.outbox()).some((r) => r.state === "queued");
  if (waiting && !retrying) {
    retrying = setTimeout(() => { retrying = null; send(); }, RETRY_MS);
  }
  if (waiting && self.registration.sync) {
    await self.registration.sync.register("alertd-outbox").catch(() => null);
  }
}

self.addEventListener("message", (event) => {
  if (event.data?.type === "flush") event.waitUntil(send());
});

self.addEventListener("sync", (event) => {
  if (event.tag === "alertd-outbox") event.waitUntil(send());
});

// Campus-wide instructions. Silent: a teacher in a lockdown must not be given away.
self.addEventListener("push", (event) => {
  const t = translator({ en, es }, chooseLanguage(["en", "es"]));
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = {}; }
  const kind = t(`kind.${data.kind}`).toUpperCase();
  const headline = t(`push.${data.event}`, { kind });
  const instruction = data.event === "AlertRaised" ? t(`instruction.${data.kind}`) : "";
  const title = (data.drill ? t("drill") + " " : "") + (headline.startsWith("push.") ? data.title ?? "alertd" : headline);
  const reminder = data.event === "RollReminder";
  const body = (reminder ? t("push.roll_body", { count: (data.room_ids ?? []).length }) : "") ||
    [instruction.startsWith("instruction.") ? "" : instruction, data.destination ? t("evacuate.to", { place: data.destination }) : ""]
      .filter(Boolean).join(" ") || data.body || "";
  // A roll reminder gets its own tag: it must not replace the instruction itself.
  const tag = reminder ? `${data.alert_id}:roll` : data.alert_id;
  event.waitUntil(self.registration.showNotification(title, {
    body, tag, silent: true, requireInteraction: true, data, lang: t("lang"),
    icon: "/app/icon.svg",
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window" });
    const open = windows.find((w) => new URL(w.url).pathname.startsWith("/app/"));
    if (open) return open.focus();
    return self.clients.openWindow("/app/");
  })());
});
