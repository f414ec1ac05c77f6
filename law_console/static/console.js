// Staff console: a few enhancements on top of server-rendered pages (they work without it).
// - [data-poll]: fetch JSON counts every few seconds and write them into [data-count] elements.
// - form[data-fetch]: submit with fetch (no reload); the JSON answer updates the page.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";

  function applyCounts(data) {
    if (!data || !data.counts) { return; }
    Object.keys(data.counts).forEach(function (key) {
      document.querySelectorAll('[data-count="' + key + '"]').forEach(function (el) {
        el.textContent = String(data.counts[key]);
      });
    });
    Object.keys(data.statuses || {}).forEach(function (code) {
      var item = document.querySelector('[data-booking="' + code + '"]');
      if (!item) { return; }
      var label = item.querySelector("[data-status]");
      var status = data.statuses[code];
      if (label && label.textContent !== status.label) {
        label.textContent = status.label;
        label.className = "badge " + status.tone;
      }
    });
    var stamp = document.querySelector("[data-updated]");
    if (stamp && data.updated) { stamp.textContent = data.updated; }
  }

  function poll(el) {
    var url = el.getAttribute("data-poll");
    var every = parseInt(el.getAttribute("data-poll-ms") || "5000", 10);
    function tick() {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(applyCounts)
        .catch(function () { /* offline for a moment: try again at the next tick */ })
        .then(function () { window.setTimeout(tick, every); });
    }
    window.setTimeout(tick, every);
  }

  function showMessage(text, isError) {
    var main = document.querySelector("main");
    var box = document.querySelector("main > .flash");
    if (!box) {
      box = document.createElement("p");
      box.setAttribute("role", "status");
      main.insertBefore(box, main.firstChild);
    }
    box.className = "flash" + (isError ? " flash-error" : "");
    box.textContent = text;
  }

  function fetchForm(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var buttons = form.querySelectorAll("button");
      buttons.forEach(function (b) { b.disabled = true; });
      var body = new URLSearchParams(new FormData(form));
      if (event.submitter && event.submitter.name) {
        body.set(event.submitter.name, event.submitter.value);
      }
      fetch(form.action, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRF-Token": csrf }
      }).then(function (r) {
        return r.json().then(function (data) { return { ok: r.ok, data: data }; });
      }).then(function (res) {
        if (res.ok) { applyCounts(res.data); showMessage(res.data.message, false); }
        else { showMessage(res.data.error || "Gagal menyimpan.", true); }
      }).catch(function () {
        showMessage("Tidak tersambung ke server; coba lagi.", true);
      }).then(function () {
        buttons.forEach(function (b) { b.disabled = false; });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(poll);
    document.querySelectorAll("form[data-fetch]").forEach(fetchForm);
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  });
})();
