// promoledger console: the only script. A button marked data-once is disabled once its form is
// submitted, so a double click sends one request (the server is idempotent regardless).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var button = form.querySelector("button[data-once]");
  if (button) {
    setTimeout(function () { button.disabled = true; button.textContent = "Working…"; }, 0);
  }
  if (form.hasAttribute("data-upload")) {
    event.preventDefault();
    upload(form, button);
  }
});

// A job upload: the chosen file is the request body (streamed by the browser), the job's
// parameters go in the query and the form's CSRF token in a header.
function upload(form, button) {
  var file = form.querySelector("input[type=file]").files[0];
  var shown = form.querySelector("[data-upload-error]");
  var query = new URLSearchParams();
  ["promotion", "action", "identifierName"].forEach(function (name) {
    query.set(name, form.elements[name].value);
  });
  if (form.elements.dryRun.checked) { query.set("dryRun", "true"); }
  var type = /\.(ndjson|jsonl)$/i.test(file.name) ? "application/x-ndjson" : "text/csv";
  fetch(form.getAttribute("action") + "?" + query.toString(), {
    method: "POST",
    body: file,
    headers: {"Content-Type": type, "X-CSRF-Token": form.getAttribute("data-csrf")},
    credentials: "same-origin"
  }).then(function (response) {
    if (response.status === 202) {
      return response.json().then(function (job) { window.location.assign(job.location); });
    }
    return response.text().then(function (html) {
      var page = new DOMParser().parseFromString(html, "text/html");
      var title = page.querySelector("h1");
      var message = page.querySelector(".error");
      refuse((title ? title.textContent + ": " : "") +
             (message ? message.textContent : "HTTP " + response.status));
    });
  }).catch(function () { refuse("The upload did not reach the server."); });

  function refuse(text) {
    shown.textContent = text;
    shown.hidden = false;
    setTimeout(function () { button.disabled = false; button.textContent = "Upload and start"; }, 0);
  }
}

// A running job's page: poll its progress every second; reload once it has finished.
function watch(section) {
  var url = section.getAttribute("data-progress");
  var bar = section.querySelector("progress");
  function tick() {
    fetch(url, {credentials: "same-origin", cache: "no-store"}).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (p) {
      if (p) {
        Object.keys(p).forEach(function (key) {
          var field = section.querySelector("[data-field=" + key + "]");
          if (field) { field.textContent = p[key]; }
        });
        bar.max = p.total || 1;
        bar.value = p.processed;
        if (p.finished) { window.location.reload(); return; }
      }
      setTimeout(tick, 1000);
    }, function () { setTimeout(tick, 1000); });
  }
  setTimeout(tick, 1000);
}

document.addEventListener("DOMContentLoaded", function () {
  var section = document.querySelector("[data-progress]");
  if (section) { watch(section); }
});
