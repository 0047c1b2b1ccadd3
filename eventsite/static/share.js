// "Copy link" on event pages: shown only when the browser can copy; the mailto link and
// the form work without it.
(function () {
  "use strict";
  if (!navigator.clipboard || !window.isSecureContext) {
    return;
  }
  document.querySelectorAll("[data-copy-link]").forEach(function (button) {
    if (button.dataset.copyReady) {
      return;
    }
    button.dataset.copyReady = "1";
    button.hidden = false;
    button.addEventListener("click", function () {
      var status = button.parentElement.querySelector(".share-status");
      navigator.clipboard.writeText(button.dataset.copyLink).then(function () {
        if (status) {
          status.textContent = button.dataset.copiedText || "Link copied";
        }
      });
    });
  });
})();
