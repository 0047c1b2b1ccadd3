// Copy buttons for calendar addresses. Without JavaScript the address stays selectable.
document.querySelectorAll("[data-copy-target]").forEach(function (button) {
  var input = document.getElementById(button.getAttribute("data-copy-target"));
  var status = button.parentElement.querySelector(".copy-status");
  if (!input || !navigator.clipboard) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(input.value).then(function () {
      if (status) { status.textContent = button.getAttribute("data-copied") || "Copied."; }
    }, function () {
      input.select();
    });
  });
});
