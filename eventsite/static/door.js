/* Door mode, enhanced. Without JavaScript the page searches and checks in by plain forms.
   With it: check-ins by fetch with spoken results and a short undo, a live count, a camera
   scanner (BarcodeDetector, else the vendored jsQR), and offline work: the door list kept in
   localStorage (names, affiliations, statuses, ticket codes: no email, no answers), check-ins
   queued on the device while the network is down and synced when it is back; the service
   worker (door-sw.js) keeps the page itself. The stored list goes when the event has ended,
   when someone else logs in here, when the server says this account may no longer sync,
   and on log-out (the server sends Clear-Site-Data). */
(function () {
  "use strict";
  var root = document.getElementById("door");
  if (!root || !window.fetch || !window.localStorage) { return; }

  var data = root.dataset;
  var LIST_KEY = "eventsite-door-list-" + data.event;
  var QUEUE_KEY = "eventsite-door-queue-" + data.event;
  var DEVICE_KEY = "eventsite-door-device";
  var UNDO_MS = Number(data.undoSeconds || 120) * 1000;
  var countNode = document.getElementById("door-count");
  var offlineNode = document.getElementById("door-offline");
  var announceNode = document.getElementById("door-announce");
  var messageNode = document.getElementById("door-message");
  var resultsNode = document.getElementById("door-results");
  var searchForm = root.querySelector("form.door-search");
  var searchInput = document.getElementById("door-q");
  var recent = {};  // public id -> when this device checked the person in (ms)
  var lastStamp = null;

  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_m, key) { return values[key]; });
  }

  function read(key, fallback) {
    try { return JSON.parse(localStorage.getItem(key)) || fallback; } catch (e) { return fallback; }
  }

  function write(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* storage full */ }
  }

  function device() {
    var name = localStorage.getItem(DEVICE_KEY);
    if (!name) {
      name = "Door " + Math.random().toString(36).slice(2, 6).toUpperCase();
      localStorage.setItem(DEVICE_KEY, name);
    }
    return name;
  }

  function wipe() {
    localStorage.removeItem(LIST_KEY);
    localStorage.removeItem(QUEUE_KEY);
  }

  function stored() {
    var list = read(LIST_KEY, null);
    if (!list) { return null; }
    var ended = list.event && list.event.ends_at && new Date(list.event.ends_at) < new Date();
    if (ended || String(list.user) !== data.user) { wipe(); return null; }
    return list;
  }

  function queue() { return read(QUEUE_KEY, []); }

  function say(text, isError) {
    messageNode.textContent = "";
    if (text) {
      var p = document.createElement("p");
      p.className = "flash " + (isError ? "flash-error" : "flash-success");
      p.textContent = text;
      messageNode.appendChild(p);
    }
    announceNode.textContent = text || "";
  }

  function showOffline() {
    var waiting = queue().length;
    if (navigator.onLine && !waiting) { offlineNode.hidden = true; return; }
    offlineNode.hidden = false;
    var text = fill(data.textOffline, { count: waiting });
    offlineNode.textContent = waiting ? text : data.textOfflineNone;
  }

  // --- the list and its entries ----------------------------------------------------------

  function entryById(id) {
    var list = stored();
    if (!list) { return null; }
    for (var i = 0; i < list.entries.length; i++) {
      if (list.entries[i].id === id) { return list.entries[i]; }
    }
    return null;
  }

  function saveEntry(entry) {
    var list = stored();
    if (!list || !entry) { return; }
    for (var i = 0; i < list.entries.length; i++) {
      if (list.entries[i].id === entry.id) { list.entries[i] = entry; }
    }
    write(LIST_KEY, list);
  }

  function localTime(iso) {
    try {
      return new Intl.DateTimeFormat("en-GB", {
        timeZone: data.timezone, hour: "2-digit", minute: "2-digit", hourCycle: "h23"
      }).format(new Date(iso));
    } catch (e) { return iso; }
  }

  function refreshList() {
    return fetch(data.listUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 403 || response.status === 401) { revoked(); return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (list) {
        if (!list) { return; }
        write(LIST_KEY, list);
        showDuplicates();
      })
      .catch(function () { /* offline: keep what is stored */ });
  }

  function revoked() {
    wipe();
    say(data.textRevoked, true);
    if (navigator.serviceWorker && navigator.serviceWorker.getRegistrations) {
      navigator.serviceWorker.getRegistrations().then(function (registrations) {
        registrations.forEach(function (r) { r.unregister(); });
      });
    }
    if (window.caches) { caches.delete("eventsite-door"); }
  }

  function showDuplicates() {
    var list = stored();
    var section = document.getElementById("door-duplicates");
    var twice = list ? list.entries.filter(function (e) { return e.twice; }) : [];
    if (!twice.length) { if (section) { section.remove(); } return; }
    if (!section) {
      section = document.createElement("section");
      section.id = "door-duplicates";
      section.className = "door-duplicates notice";
      section.setAttribute("role", "status");
      root.insertBefore(section, resultsNode);
    }
    section.textContent = "";
    var ul = document.createElement("ul");
    twice.forEach(function (entry) {
      var li = document.createElement("li");
      li.textContent = entry.name + ": " + entry.twice;
      ul.appendChild(li);
    });
    section.appendChild(ul);
  }

  // --- cards -------------------------------------------------------------------------------

  function button(label, className, name, action) {
    var form = document.createElement("form");
    form.method = "post";
    form.className = "door-act";
    form.action = action;
    [["csrf_token", data.csrf], ["registration", name.id], ["q", searchInput.value]].forEach(function (pair) {
      var input = document.createElement("input");
      input.type = "hidden"; input.name = pair[0]; input.value = pair[1];
      form.appendChild(input);
    });
    var b = document.createElement("button");
    b.type = "submit";
    b.className = className;
    b.textContent = label;
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = " " + name.name;
    b.appendChild(hidden);
    form.appendChild(b);
    return form;
  }

  function line(card, className, text) {
    if (!text) { return; }
    var p = document.createElement("p");
    p.className = className;
    p.textContent = text;
    card.appendChild(p);
  }

  function card(entry) {
    var article = document.createElement("article");
    article.className = "door-card card";
    article.dataset.registration = entry.id;
    var h2 = document.createElement("h2");
    h2.className = "door-name";
    h2.id = "door-name-" + entry.id;
    h2.textContent = entry.name;
    article.setAttribute("aria-labelledby", h2.id);
    article.appendChild(h2);
    line(article, "door-affiliation", entry.affiliation);
    line(article, "door-status", entry.status_label);
    line(article, "door-checked", entry.checked_in_text);
    line(article, "door-twice", entry.twice);
    line(article, "door-refusal", entry.refusal);
    if (!entry.refusal && !entry.checked_in_at) {
      article.appendChild(button(data.textCheckIn, "button door-check-in", entry, data.checkInUrl));
    } else if (entry.checked_in_at && recent[entry.id] && Date.now() - recent[entry.id] < UNDO_MS) {
      article.appendChild(button(data.textUndo, "button secondary door-undo", entry, data.undoUrl));
    }
    return article;
  }

  function show(entries) {
    resultsNode.textContent = "";
    entries.forEach(function (entry) { resultsNode.appendChild(card(entry)); });
  }

  function replaceCard(entry) {
    var old = resultsNode.querySelector('[data-registration="' + entry.id + '"]');
    var fresh = card(entry);
    if (old) { old.replaceWith(fresh); } else { resultsNode.appendChild(fresh); }
    var focus = fresh.querySelector("button") || searchInput;
    focus.focus();
  }

  // --- searching offline -------------------------------------------------------------------

  var ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";

  function normaliseCode(text) {
    var code = text.toUpperCase().replace(/[^0-9A-Z]/g, "");
    if (code.length !== 8) { return null; }
    for (var i = 0; i < code.length; i++) {
      if (ALPHABET.indexOf(code[i]) < 0) { return null; }
    }
    return code;
  }

  function localSearch(text) {
    var list = stored();
    if (!list) { return null; }
    // A scanned QR value is "CODE.signature": offline the code is checked, not the signature.
    var code = normaliseCode(text.split(".")[0]);
    var byCode = list.entries.filter(function (e) { return code && e.code === code; });
    if (byCode.length || text.indexOf(".") >= 0) { return byCode; }
    var terms = text.toLowerCase().split(/\s+/).filter(Boolean);
    return list.entries.filter(function (e) {
      var hay = (e.name + " " + e.affiliation).toLowerCase();
      return terms.every(function (t) { return hay.indexOf(t) >= 0; });
    }).slice(0, 20);
  }

  function searchOffline(text) {
    var found = localSearch(text);
    if (found === null) { return false; }
    say(found.length ? "" : (text.indexOf(".") >= 0 || normaliseCode(text) ? data.textNotTicket : data.textNobody), !found.length);
    show(found);
    return true;
  }

  searchForm.addEventListener("submit", function (event) {
    if (navigator.onLine) { return; }  // online: the server searches (and checks signatures)
    if (searchOffline(searchInput.value.trim())) { event.preventDefault(); }
  });

  // --- checking in ---------------------------------------------------------------------------

  function checkInOffline(id) {
    var entry = entryById(id);
    if (!entry) { return false; }
    if (entry.checked_in_at || entry.refusal) { replaceCard(entry); say(entry.checked_in_text || entry.refusal, true); return true; }
    var at = new Date().toISOString();
    var waiting = queue();
    waiting.push({ id: id, at: at });
    write(QUEUE_KEY, waiting);
    entry.checked_in_at = at;
    entry.checked_in_text = fill(data.textCheckedInAt, { time: localTime(at) });
    saveEntry(entry);
    recent[id] = Date.now();
    replaceCard(entry);
    say(fill(data.textCheckedIn, { name: entry.name }));
    showOffline();
    localCount();
    return true;
  }

  function undoOffline(id) {
    var waiting = queue();
    var left = waiting.filter(function (item) { return item.id !== id; });
    if (left.length === waiting.length) { return false; }
    write(QUEUE_KEY, left);
    var entry = entryById(id);
    entry.checked_in_at = null;
    entry.checked_in_text = null;
    saveEntry(entry);
    delete recent[id];
    replaceCard(entry);
    say(fill(data.textUndone, { name: entry.name }));
    showOffline();
    localCount();
    return true;
  }

  root.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList.contains("door-act")) { return; }
    event.preventDefault();
    var id = form.elements.registration.value;
    var undo = form.action.indexOf(data.undoUrl) >= 0;
    if (!navigator.onLine) {
      if (!(undo ? undoOffline(id) : checkInOffline(id))) { form.submit(); }
      return;
    }
    form.querySelector("button").disabled = true;
    fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      if (response.status === 403) { revoked(); return null; }
      return response.json();
    }).then(function (answer) {
      if (!answer) { return; }
      if (answer.entry) {
        if (answer.ok && !undo) { recent[answer.entry.id] = Date.now(); }
        saveEntry(answer.entry);
        replaceCard(answer.entry);
      }
      say(answer.message, !answer.ok);
      if (answer.arrivals) { countNode.textContent = answer.arrivals; }
    }).catch(function () {
      // The network went while we pressed: keep the check-in on the device.
      if (!(undo ? undoOffline(id) : checkInOffline(id))) { say(data.textOfflineNone, true); }
    });
  });

  // Undo buttons disappear once the moment has passed.
  setInterval(function () {
    Array.prototype.forEach.call(resultsNode.querySelectorAll("form.door-act"), function (form) {
      var id = form.elements.registration.value;
      if (form.action.indexOf(data.undoUrl) >= 0 && recent[id] && Date.now() - recent[id] >= UNDO_MS) {
        delete recent[id];
        form.remove();
      }
    });
  }, 1000);

  // --- syncing and the count -------------------------------------------------------------

  var syncing = false;

  function sync() {
    var waiting = queue();
    if (syncing || !waiting.length || !navigator.onLine) { return Promise.resolve(); }
    syncing = true;
    return fetch(data.syncUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": data.csrf },
      body: JSON.stringify({ device: device(), items: waiting })
    }).then(function (response) {
      if (response.status === 403) { revoked(); return null; }
      return response.ok ? response.json() : null;
    }).then(function (answer) {
      if (!answer) { return; }
      var sent = {};
      waiting.forEach(function (item) { sent[item.id + "@" + item.at] = true; });
      write(QUEUE_KEY, queue().filter(function (item) { return !sent[item.id + "@" + item.at]; }));
      var problems = [];
      answer.results.forEach(function (result) {
        if (result.entry) { saveEntry(result.entry); }
        if (result.outcome === "twice" || result.outcome === "refused" || result.outcome === "unknown") {
          problems.push((result.entry ? result.entry.name + ": " : "") + result.message);
        }
      });
      countNode.textContent = answer.arrivals;
      say(problems.length ? problems.join(" ") : fill(data.textSynced, { count: waiting.length }), problems.length > 0);
      return refreshList();
    }).catch(function () { /* still offline */ }).then(function () {
      syncing = false;
      showOffline();
    });
  }

  function localCount() {
    var list = stored();
    if (!list) { return; }
    var valid = list.entries.filter(function (e) { return e.status === "confirmed" && !e.refusal; });
    var checked = valid.filter(function (e) { return e.checked_in_at; });
    var number = new Intl.NumberFormat(document.documentElement.lang || undefined);
    countNode.textContent = fill(data.textCount, {
      checked: number.format(checked.length), expected: number.format(valid.length)
    });
  }

  function poll() {
    if (!navigator.onLine) { localCount(); showOffline(); return; }
    sync();
    fetch(data.countUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 403) { revoked(); return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (count) {
        if (!count) { return; }
        countNode.textContent = count.text;
        if (count.stamp !== lastStamp) { lastStamp = count.stamp; refreshList(); }
      })
      .catch(localCount);
  }

  window.addEventListener("online", function () { showOffline(); sync(); });
  window.addEventListener("offline", showOffline);
  setInterval(poll, 4000);

  // --- the camera ----------------------------------------------------------------------------

  var scanButton = document.getElementById("door-scan");
  var scanner = document.getElementById("door-scanner");
  var video = document.getElementById("door-video");
  var stream = null;
  var detector = null;
  var canvas = document.createElement("canvas");

  function stopScanning() {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    stream = null;
    scanner.hidden = true;
    scanButton.hidden = false;
    scanButton.focus();
  }

  function loadJsQR() {
    if (window.jsQR) { return Promise.resolve(); }
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = data.jsqrUrl;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function readFrame() {
    if (!stream || video.readyState < 2) { return Promise.resolve(null); }
    if (detector) {
      return detector.detect(video).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
    }
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    var context = canvas.getContext("2d");
    context.drawImage(video, 0, 0);
    var image = context.getImageData(0, 0, canvas.width, canvas.height);
    var code = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
    return Promise.resolve(code ? code.data : null);
  }

  function scanned(value) {
    stopScanning();
    searchInput.value = "";
    if (!navigator.onLine) { searchOffline(value); return; }
    var body = new FormData();
    body.append("csrf_token", data.csrf);
    body.append("value", value);
    fetch(data.scanUrl, { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 403) { revoked(); return null; }
        return response.json();
      })
      .then(function (answer) {
        if (!answer) { return; }
        if (answer.ok) { say(""); show([answer.entry]); replaceCard(answer.entry); } else { show([]); say(answer.message, true); }
      })
      .catch(function () { searchOffline(value); });
  }

  function tick() {
    if (!stream) { return; }
    readFrame().then(function (value) {
      if (value) { scanned(value); } else { setTimeout(tick, 200); }
    }).catch(function () { setTimeout(tick, 500); });
  }

  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    scanButton.hidden = false;
    scanButton.addEventListener("click", function () {
      var ready = "BarcodeDetector" in window
        ? Promise.resolve().then(function () { detector = new window.BarcodeDetector({ formats: ["qr_code"] }); })
        : loadJsQR();
      ready.then(function () {
        return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
      }).then(function (media) {
        stream = media;
        video.srcObject = media;
        scanner.hidden = false;
        scanButton.hidden = true;
        return video.play();
      }).then(tick).catch(function () {
        stopScanning();
        say(data.textNoCamera, true);
      });
    });
    document.getElementById("door-scan-stop").addEventListener("click", stopScanning);
  }

  // --- the service worker ------------------------------------------------------------------

  if (navigator.serviceWorker) {
    navigator.serviceWorker.register(data.swUrl, { scope: data.swScope }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      var worker = registration.active;
      var assets = [data.pageUrl, data.jsqrUrl];
      Array.prototype.forEach.call(document.querySelectorAll('link[rel="stylesheet"], script[src]'), function (node) {
        assets.push(node.href || node.src);
      });
      if (worker) { worker.postMessage({ cache: assets }); }
    }).catch(function () { /* no offline page: the list still works while this tab is open */ });
  }

  // --- start -------------------------------------------------------------------------------

  stored();  // drops a list of an ended event or of another account
  var params = new URLSearchParams(window.location.search);
  if (!navigator.onLine && params.get("q") && !resultsNode.children.length) {
    searchInput.value = params.get("q");
    searchOffline(params.get("q"));
  }
  refreshList().then(function () { showDuplicates(); sync(); });
  showOffline();
  showDuplicates();
})();
