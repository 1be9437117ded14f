// The kiosk's service worker (scope /k/): the page and its assets come from the cache when the
// network is down, so the kiosk keeps taking answers. Answers are never cached here: the page
// queues them on the device and sends them when it can.
"use strict";
var CACHE = "kiosk-v1";
var SHELL = ["/k/", "/static/kiosk/kiosk.css", "/static/kiosk/kiosk.js"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); }));
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  var key = url.pathname === "/k/" ? "/k/" : (SHELL.indexOf(url.pathname) >= 0 ? url.pathname : null);
  if (key === null) return;
  // The network first, so a revoked kiosk learns it at once; the cache when it is down.
  event.respondWith(fetch(request).then(function (reply) {
    if (reply.ok) {
      var copy = reply.clone();
      caches.open(CACHE).then(function (cache) { cache.put(key, copy); });
    }
    return reply;
  }).catch(function () {
    return caches.match(key).then(function (cached) { return cached || Response.error(); });
  }));
});
