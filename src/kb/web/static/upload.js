// Upload page: drag and drop, a progress bar for the transfer, then each file's indexing status.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (!form) return;
  var input = document.getElementById("files");
  var drop = document.getElementById("drop");
  var bar = document.getElementById("progress");
  var table = document.getElementById("statuses");
  var LABELS = {queued: "в очереди на индексацию", indexing: "индексируется…",
                extracted: "текст прочитан, записывается в индекс…", indexed: "в поиске",
                removed: "удалён из поиска", unknown: "неизвестно",
                copying: "готово на сервере-индексаторе, копируется на этот сервер…"};

  ["dragenter", "dragover"].forEach(function (ev) {
    drop.addEventListener(ev, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (ev) {
    drop.addEventListener(ev, function (e) { e.preventDefault(); drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (e) { input.files = e.dataTransfer.files; });

  function row(name, text, path) {
    var tr = document.createElement("tr");
    if (path) tr.dataset.path = path;
    var a = document.createElement("td"); a.textContent = name;
    var b = document.createElement("td"); b.className = "state"; b.textContent = text;
    tr.appendChild(a); tr.appendChild(b);
    table.tBodies[0].appendChild(tr);
  }

  function poll() {
    var rows = table.querySelectorAll("tr[data-path]");
    var paths = [];
    rows.forEach(function (tr) { if (tr.dataset.done !== "1") paths.push(tr.dataset.path); });
    if (!paths.length) return;
    var q = paths.map(function (p) { return "path=" + encodeURIComponent(p); }).join("&");
    fetch("/upload/status?" + q, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        rows.forEach(function (tr) {
          var s = data.files[tr.dataset.path];
          if (!s) return;
          var text = s.status === "failed" ? "ошибка: " + (s.reason || "") : (LABELS[s.status] || s.status);
          tr.querySelector(".state").textContent = text;
          if (s.status === "indexed" || s.status === "failed" || s.status === "removed") tr.dataset.done = "1";
        });
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    bar.hidden = false; bar.value = 0;
    xhr.upload.onprogress = function (ev) { if (ev.lengthComputable) bar.value = Math.round(100 * ev.loaded / ev.total); };
    xhr.onload = function () {
      bar.value = 100;
      table.hidden = false;
      table.tBodies[0].innerHTML = "";
      var data;
      try { data = JSON.parse(xhr.responseText); } catch (err) {
        row("", "ошибка загрузки (" + xhr.status + ")", null); return;
      }
      (data.files || []).forEach(function (f) {
        var text = f.status === "queued" ? LABELS.queued : (f.status === "exists" ? f.reason : "ошибка: " + f.reason);
        row(f.name, text, f.status === "queued" ? f.path : null);
      });
      if (data.error) row("", data.error.message_ru, null);
      poll();
    };
    xhr.onerror = function () { row("", "сеть недоступна: файлы не отправлены", null); table.hidden = false; };
    xhr.send(new FormData(form));
  });
  if (table.querySelector("tr[data-path]")) poll();
})();
