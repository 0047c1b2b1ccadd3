/* The door page's service worker (scope: the event's workspace path). It keeps the door
   page and its assets, which door.js names when it starts, so that the page opens while
   the venue's network is down: the network first, the kept copy when there is none.
   Nothing else is kept; the JSON endpoints are door.js's business. Log-out clears it all
   (Clear-Site-Data). */
"use strict";

var CACHE = "eventsite-door";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("message", function (event) {
  var urls = event.data && event.data.cache;
  if (!Array.isArray(urls)) { return; }
  var same = urls.filter(function (url) { return new URL(url, self.location).origin === self.location.origin; });
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(same.map(function (url) {
      return fetch(url, { credentials: "same-origin" }).then(function (response) {
        if (response.ok) { return cache.put(new URL(url, self.location).pathname, response); }
      }).catch(function () { /* offline: try next time */ });
    }));
  }));
});

function isDoorPage(url) { return /\/door$/.test(url.pathname); }

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  var page = request.mode === "navigate" && isDoorPage(url);
  if (!page && url.pathname.indexOf("/static/") < 0) { return; }
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && !response.redirected && (!page || !url.search)) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(url.pathname, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(url.pathname).then(function (kept) {
      return kept || Response.error();
    });
  }));
});
