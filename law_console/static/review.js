// "Ulasan": keyboard labelling, marking words as entities, and the training progress.
// Pages work without it (a label is then saved without entities; progress by reloading).
(function () {
  "use strict";

  // --- labelling: number keys pick an intent, Enter saves, b discards, Esc goes back -----
  var form = document.querySelector("[data-label-form]");
  if (form) {
    var typed = "", timer = null;
    var radios = form.querySelectorAll("input[name=intent]");
    var pick = function (number) {
      var radio = form.querySelector('input[name=intent][data-key="' + number + '"]');
      if (radio) { radio.checked = true; radio.focus(); return true; }
      return false;
    };
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      var typing = target && (target.tagName === "TEXTAREA" ||
        (target.tagName === "INPUT" && target.type === "text") || target.tagName === "SELECT");
      if (event.key === "Escape") { window.location.href = "/ulasan"; return; }
      if (typing || event.ctrlKey || event.metaKey || event.altKey) { return; }
      if (/^[0-9]$/.test(event.key)) {
        event.preventDefault();
        // "1" then "2" within a moment picks 12; "1" alone stays 1; "3" is 3 at once.
        typed += event.key;
        var number = parseInt(typed, 10);
        pick(number);
        window.clearTimeout(timer);
        if (typed.length >= 2 || number * 10 > radios.length) {
          typed = "";
        } else {
          timer = window.setTimeout(function () { typed = ""; }, 700);
        }
      } else if (event.key === "Enter") {
        event.preventDefault();
        form.requestSubmit();
      } else if (event.key === "b") {
        event.preventDefault();
        document.getElementById("discard-form").requestSubmit();
      }
    });

    // --- entities: click words, choose the kind, "Tandai" ------------------------------
    var textInput = form.querySelector("[data-text]");
    var wordsBox = form.querySelector("[data-words]");
    var spansInput = form.querySelector("[data-spans]");
    var marksList = form.querySelector("[data-marks]");
    var entitySelect = form.querySelector("[data-entity]");
    var valueSelect = form.querySelector("[data-value]");
    var spans = [], selected = [];

    var words = function (text) {
      var found = [], re = /[^\s.,!?;:()"']+/g, m;
      while ((m = re.exec(text)) !== null) { found.push({ start: m.index, end: m.index + m[0].length, text: m[0] }); }
      return found;
    };
    var render = function () {
      var text = textInput.value;
      wordsBox.textContent = "";
      words(text).forEach(function (w, index) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "small word";
        button.textContent = w.text;
        button.setAttribute("data-word", String(index));
        if (selected.indexOf(index) >= 0) { button.classList.add("selected"); }
        spans.forEach(function (s) { if (w.start >= s.start && w.end <= s.end) { button.classList.add("marked"); } });
        button.addEventListener("click", function () {
          var at = selected.indexOf(index);
          if (at >= 0) { selected.splice(at, 1); } else { selected.push(index); }
          render();
        });
        wordsBox.appendChild(button);
      });
      marksList.textContent = "";
      spans.forEach(function (s, index) {
        var item = document.createElement("li");
        item.textContent = "\u201c" + text.slice(s.start, s.end) + "\u201d = " + s.entity + (s.value ? " (" + s.value + ")" : "") + " ";
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "small link-button";
        remove.textContent = "hapus";
        remove.addEventListener("click", function () { spans.splice(index, 1); render(); });
        item.appendChild(remove);
        marksList.appendChild(item);
      });
      spansInput.value = JSON.stringify(spans);
    };
    var filterValues = function () {
      var entity = entitySelect.value, first = true;
      Array.prototype.forEach.call(valueSelect.options, function (option) {
        var forEntity = option.getAttribute("data-for");
        option.hidden = forEntity !== null && forEntity !== entity;
        if (forEntity === entity && first) { valueSelect.value = option.value; first = false; }
      });
      if (first) { valueSelect.value = ""; }
    };
    if (textInput && wordsBox) {
      textInput.addEventListener("input", function () { spans = []; selected = []; render(); });
      entitySelect.addEventListener("change", filterValues);
      form.querySelector("[data-mark]").addEventListener("click", function () {
        var all = words(textInput.value);
        if (!selected.length) { return; }
        var chosen = selected.map(function (i) { return all[i]; }).sort(function (a, b) { return a.start - b.start; });
        spans = spans.filter(function (s) { return s.end <= chosen[0].start || s.start >= chosen[chosen.length - 1].end; });
        spans.push({ start: chosen[0].start, end: chosen[chosen.length - 1].end,
                     entity: entitySelect.value, value: valueSelect.value || null });
        spans.sort(function (a, b) { return a.start - b.start; });
        selected = [];
        render();
      });
      filterValues();
      render();
    }
  }

  // --- training progress ------------------------------------------------------------
  var box = document.querySelector("[data-training]");
  if (box) {
    var every = parseInt(box.getAttribute("data-poll-ms") || "1500", 10);
    var show = function (status) {
      if (!status || !status.state) { return false; }
      var state = box.querySelector("[data-state]");
      if (!state) { window.location.reload(); return false; }
      state.textContent = status.state;
      box.querySelector("[data-message]").textContent = status.message || "";
      var list = box.querySelector("[data-steps]");
      list.textContent = "";
      (status.steps || []).forEach(function (step) {
        var item = document.createElement("li");
        item.textContent = step;
        list.appendChild(item);
      });
      box.querySelector("[data-done]").hidden = status.state !== "selesai";
      return status.state === "berjalan";
    };
    var tick = function () {
      fetch(box.getAttribute("data-training"), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (status) { if (show(status)) { window.setTimeout(tick, every); } })
        .catch(function () { window.setTimeout(tick, every); });
    };
    window.setTimeout(tick, 300);
  }
  document.body.setAttribute("data-review-ready", "1");  // the keys work from now on
})();
