// promoledger console: the only script. A button marked data-once is disabled once its form is
// submitted, so a double click sends one request (the server is idempotent regardless).
document.addEventListener("submit", function (event) {
  var button = event.target.querySelector("button[data-once]");
  if (button) {
    setTimeout(function () { button.disabled = true; button.textContent = "Working…"; }, 0);
  }
});
