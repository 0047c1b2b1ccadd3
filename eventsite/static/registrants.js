// The registrants table, enhanced: a "tick everyone" box in the header, and the
// confirmation of Cancel/Reject shown in place in a <dialog> (the same form as the
// confirmation page the links lead to without JavaScript).
(function () {
  "use strict";

  var all = document.querySelector("input.select-all");
  if (all) {
    var boxes = document.querySelectorAll('input[name="ids"][form="bulk"]');
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (box) {
        box.checked = all.checked;
      });
    });
    var link = document.querySelector(".select-all-link");
    if (link) link.hidden = true;
  }

  if (typeof HTMLDialogElement !== "function") return;

  function openDialog(link, html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    var section = page.querySelector(".confirm-action");
    if (!section) {
      window.location.assign(link.href);
      return;
    }
    var dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-heading");
    dialog.appendChild(document.importNode(section, true));
    document.body.appendChild(dialog);
    var back = dialog.querySelector("[data-dialog-close]");
    if (back) {
      back.addEventListener("click", function (event) {
        event.preventDefault();
        dialog.close();
      });
    }
    dialog.addEventListener("close", function () {
      dialog.remove();
      link.focus();
    });
    dialog.showModal();
    var reason = dialog.querySelector("textarea");
    if (reason) reason.focus();
  }

  document.querySelectorAll("a[data-confirm-dialog]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      fetch(link.href, { credentials: "same-origin" })
        .then(function (response) {
          return response.text();
        })
        .then(function (html) {
          openDialog(link, html);
        })
        .catch(function () {
          window.location.assign(link.href);
        });
    });
  });
})();
