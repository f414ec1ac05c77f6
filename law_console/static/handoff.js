// Hand-off conversation page: fetch the lines stored since the last one shown, every few
// seconds, and append them (text only, never HTML). Without it the page still works on reload.
(function () {
  "use strict";
  function line(data) {
    var li = document.createElement("li");
    li.className = "msg msg-" + data.who;
    li.setAttribute("data-line", String(data.id));
    if (data.label) {
      var who = document.createElement("span");
      who.className = "msg-who"; who.textContent = data.label; li.appendChild(who);
    }
    var text = document.createElement("span");
    text.className = "msg-text"; text.textContent = data.text; li.appendChild(text);
    var at = document.createElement("span");
    at.className = "msg-at"; at.textContent = data.at; li.appendChild(at);
    return li;
  }
  function start(chat) {
    var url = chat.getAttribute("data-conversation-poll");
    var every = parseInt(chat.getAttribute("data-poll-ms") || "3000", 10);
    var status = document.querySelector("[data-chat-status]");
    var seen = chat.getAttribute("data-last-line") || "0";
    var note = "";
    chat.scrollTop = chat.scrollHeight;
    window.addEventListener("resize", function () { chat.scrollTop = chat.scrollHeight; });
    function tick() {
      fetch(url + "?setelah=" + encodeURIComponent(seen),
            { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, d: d }; }); })
        .then(function (res) {
          if (!res.ok) { if (status) { status.textContent = res.d.error || ""; } return; }
          if (res.d.note) { note = res.d.note; }  // kept until the page is reloaded
          if (status) {
            status.textContent = res.d.takeover === chat.getAttribute("data-takeover") ? note
              : (res.d.takeover ? "Percakapan kini diambil alih oleh " + res.d.takeover
                 : "Pengambilalihan sudah diakhiri") + "; muat ulang halaman.";
          }
          res.d.lines.forEach(function (item) {
            if (chat.querySelector('[data-line="' + item.id + '"]')) { return; }
            chat.appendChild(line(item));
            seen = String(item.id);
          });
          var empty = document.querySelector("[data-empty]");
          if (empty && res.d.lines.length) { empty.remove(); }
          if (res.d.lines.length) { chat.scrollTop = chat.scrollHeight; }
        })
        .catch(function () { if (status) { status.textContent = "Tidak tersambung; mencoba lagi…"; } })
        .then(function () { window.setTimeout(tick, every); });
    }
    window.setTimeout(tick, every);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var chat = document.querySelector("[data-conversation-poll]");
    if (chat) { start(chat); }
  });
})();
