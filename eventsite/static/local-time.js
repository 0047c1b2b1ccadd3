/* Progressive enhancement: show an event's hours in the visitor's own time zone
   when it differs from the event's. Without JavaScript the page already shows the
   event's local time with its zone. */
(function () {
  "use strict";
  if (!window.Intl || !Intl.DateTimeFormat) { return; }
  var visitorZone;
  try { visitorZone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  // Plain "en" pages use day-month order and a 24-hour clock, as the page itself does.
  var lang = document.documentElement.lang || undefined;
  if (lang === "en") { lang = "en-GB"; }

  function wallClock(date, zone) {
    return new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    }).format(date);
  }

  function describe(date, withDay) {
    var options = { hour: "numeric", minute: "2-digit", timeZoneName: "short" };
    if (withDay) { options.weekday = "short"; options.day = "numeric"; options.month = "short"; }
    return new Intl.DateTimeFormat(lang, options).format(date);
  }

  var nodes = document.querySelectorAll(".visitor-time[data-start][data-zone]");
  Array.prototype.forEach.call(nodes, function (node) {
    var start = new Date(node.getAttribute("data-start"));
    var end = new Date(node.getAttribute("data-end") || node.getAttribute("data-start"));
    var zone = node.getAttribute("data-zone");
    if (isNaN(start.getTime()) || isNaN(end.getTime())) { return; }
    try {
      if (wallClock(start, zone) === wallClock(start, visitorZone) &&
          wallClock(end, zone) === wallClock(end, visitorZone)) { return; }
    } catch (e) { return; }  // an unknown zone name: leave the page as it is
    node.textContent = (node.getAttribute("data-label") || "") + " " +
      describe(start, true) + " – " + describe(end, true);
    node.hidden = false;
  });
})();
