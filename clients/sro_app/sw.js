// The SRO app's service worker: keeps the app loadable offline, and shows alerts that arrive
// as Web Push while it is closed, with sound and vibration where the device allows.

import { chooseLanguage, translator } from "/clients-common/i18n.js";
import en from "./locales/en.js";
import es from "./locales/es.js";

const CACHE = "alertd-sro-v1";
const SHELL = [
  "/sro/", "/sro/index.html", "/sro/sro.css", "/sro/manifest.webmanifest", "/sro/icon.svg",
  "/sro/js/app.js", "/sro/js/respond.js", "/sro/locales/en.js", "/sro/locales/es.js",
  "/clients-common/auth.js", "/clients-common/idb.js", "/clients-common/i18n.js",
  "/clients-common/stream.js", "/console/js/floorplan.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

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

self.addEventListener("push", (event) => {
  const t = translator({ en, es }, chooseLanguage(["en", "es"]));
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = {}; }
  const kind = t(`kind.${data.kind}`).toUpperCase();
  const headline = t(`push.${data.event}`, { kind });
  const title = (data.drill ? t("drill") + " " : "") + (headline.startsWith("push.") ? data.title ?? "alertd" : headline);
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body ?? "", tag: data.alert_id, requireInteraction: true, renotify: true,
    silent: false, vibrate: [400, 150, 400, 150, 400], data, icon: "/sro/icon.svg",
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = `/sro/?alert=${encodeURIComponent(event.notification.data?.alert_id ?? "")}`;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window" });
    const open = windows.find((w) => new URL(w.url).pathname.startsWith("/sro/"));
    if (open) { await open.navigate(target); return open.focus(); }
    return self.clients.openWindow(target);
  })());
});
