// Sharing on event pages, as progressive enhancement: "Share…" opens the phone's own share
// sheet (Web Share API) and "Copy link" copies the address, each shown only where the
// browser can do it; the mailto link and the send-for-you form work without either.
(function () {
  "use strict";
  function status(button, text) {
    var line = button.parentElement.querySelector(".share-status");
    if (line) {
      line.textContent = text;
    }
  }
  if (navigator.share) {
    document.querySelectorAll("[data-share-url]").forEach(function (button) {
      if (button.dataset.shareReady) {
        return;
      }
      button.dataset.shareReady = "1";
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.share({
          title: button.dataset.shareTitle,
          text: button.dataset.shareText,
          url: button.dataset.shareUrl,
        }).catch(function () {
          // Closed without sharing: nothing to say.
        });
      });
    });
  }
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
      navigator.clipboard.writeText(button.dataset.copyLink).then(function () {
        status(button, button.dataset.copiedText || "Link copied");
      });
    });
  });
})();
