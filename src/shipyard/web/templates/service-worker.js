// Shipyard's service worker, served from /service-worker.js so that its scope is the site.
//
// It makes the console installable without changing how it behaves:
// - /static/ assets (their URLs carry the version): cache first, stored as they are fetched;
// - page navigations: the network (with navigation preload), and only when the network
//   fails, the cached offline page;
// - everything else (htmx fragments, the API, uploads, downloads, WebSockets): not handled
//   here at all, so the browser fetches it as if there were no worker.
// Pages and API answers are per-user and are never cached. A new version or new assets give
// a new cache name (so new bytes here): the new worker takes over and deletes old caches.
"use strict";

const CACHE = {{ cache_name|tojson }};
const PREFIX = {{ cache_prefix|tojson }};
const OFFLINE_URL = {{ offline_url|tojson }};
const PRECACHE = {{ precache|tojson }};

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(PRECACHE))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(
      names.filter((name) => name.startsWith(PREFIX) && name !== CACHE)
        .map((name) => caches.delete(name))
    );
    if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
    await self.clients.claim();
  })());
});

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === "basic") await cache.put(request, response.clone());
  return response;
}

async function networkOrOffline(event) {
  try {
    const preloaded = await event.preloadResponse;
    return preloaded || await fetch(event.request);
  } catch (error) {
    const offline = await caches.match(OFFLINE_URL, { cacheName: CACHE });
    if (offline) return offline;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(networkOrOffline(event));
  } else if (url.pathname.startsWith("/static/") && !request.headers.has("range")) {
    event.respondWith(cacheFirst(request));
  }
});
