/* Progressive enhancement of the event form. Without JavaScript the page works as is:
   a plain list of time zones (common ones first) and the web address the server showed.
   With it: a filter above the zone list (by city, country or zone name), the browser's
   own zone for an organisation's first event, and the web address updated as you type. */
(function () {
  "use strict";

  // --- time zones ------------------------------------------------------------------
  var select = document.getElementById("timezone");
  if (select) {
    if (select.getAttribute("data-prefer-browser") === "true" && window.Intl) {
      var browserZone = "";
      try { browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* keep UTC */ }
      Array.prototype.forEach.call(select.options, function (option) {
        if (option.value === browserZone) { select.value = browserZone; }
      });
    }
    var fold = function (text) {
      return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
    };
    var filter = document.createElement("input");
    filter.type = "search";
    filter.id = "timezone-filter";
    filter.className = "zone-filter";
    filter.setAttribute("aria-controls", "timezone");
    filter.setAttribute("aria-label", select.getAttribute("data-filter-label") || "Filter");
    filter.placeholder = select.getAttribute("data-filter-placeholder") || "";
    select.parentNode.insertBefore(filter, select);
    filter.addEventListener("input", function () {
      var words = fold(filter.value).split(/[\s,]+/).filter(Boolean);
      var firstMatch = null;
      Array.prototype.forEach.call(select.options, function (option) {
        var text = fold(option.textContent + " " + option.value.replace(/[/_]/g, " "));
        var shown = words.every(function (word) { return text.indexOf(word) !== -1; });
        option.hidden = !shown;
        if (shown && firstMatch === null) { firstMatch = option; }
      });
      Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
        group.hidden = !group.querySelector("option:not([hidden])");
      });
      // Show the matches as a list; pick the first so Enter or Tab keeps it.
      select.size = words.length ? 8 : 0;
      if (words.length && firstMatch && select.selectedOptions[0] && select.selectedOptions[0].hidden) {
        select.value = firstMatch.value;
      }
    });
  }

  // --- the web address ----------------------------------------------------------------
  var preview = document.getElementById("slug-preview");
  var slug = document.getElementById("slug");
  var title = document.getElementById("title");
  if (preview && slug && preview.getAttribute("data-fixed") !== "true") {
    // Like the server's python-slugify: letters and digits without accents, joined by "-".
    var slugify = function (text) {
      return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
        .replace(/['\u2019]/g, "").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "")
        .slice(0, 120).replace(/-+$/, "");
    };
    var update = function () {
      var value = slugify(slug.value.trim() || (title ? title.value : ""));
      preview.textContent = preview.getAttribute("data-base") +
        (value || preview.getAttribute("data-placeholder"));
    };
    slug.addEventListener("input", update);
    if (title) { title.addEventListener("input", update); }
  }
})();
