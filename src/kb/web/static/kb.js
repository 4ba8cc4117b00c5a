// Optional niceties; every page works without this file.
// "/" focuses the search box, as on many search sites.
document.addEventListener("keydown", function (e) {
  if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
  var t = e.target && e.target.tagName;
  if (t === "INPUT" || t === "TEXTAREA" || (e.target && e.target.isContentEditable)) return;
  var box = document.getElementById("q") || document.getElementById("dq");
  if (box) { e.preventDefault(); box.focus(); box.select(); }
});

// A link to passage N made before documents were shown in parts (`/doc/<id>#p-250`): when the
// passage is not in this part, open the part that holds it (the server does so for its own links).
(function () {
  var m = /^#p-(\d+)$/.exec(location.hash);
  var text = document.querySelector(".text[data-part-size]");
  if (!m || !text || document.getElementById("p-" + m[1])) return;
  var part = Math.floor(Number(m[1]) / Number(text.getAttribute("data-part-size"))) + 1;
  if (part === Number(text.getAttribute("data-part"))) return;
  var url = new URL(location.href);
  url.searchParams.set("part", String(part));
  location.replace(url.toString());
})();

// An anchor that survives re-indexing (`#st-84`, `#page-12`) on a part that does not hold it (a
// link copied from the address bar before the index was rebuilt): the server finds its part.
(function () {
  var m = /^#(st|page)-([\w.-]+)$/.exec(location.hash);
  if (!m || !document.querySelector(".text[data-part-size]") || document.getElementById(m[1] + "-" + m[2])) return;
  var url = new URL(location.href);
  url.searchParams.delete("part");
  url.searchParams.set(m[1], m[2]);
  url.hash = "";
  location.replace(url.toString());
})();

// "Копировать" beside each citation: the text stays selectable without JavaScript.
(function () {
  function done(button) {
    var label = button.textContent;
    button.textContent = "Скопировано";
    setTimeout(function () { button.textContent = label; }, 2000);
  }
  function fallback(button, text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    try { if (document.execCommand("copy")) done(button); } finally { document.body.removeChild(area); }
  }
  document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.setAttribute("aria-live", "polite");
    button.addEventListener("click", function () {
      var text = button.getAttribute("data-copy");
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { done(button); }, function () { fallback(button, text); });
      } else {
        fallback(button, text);
      }
    });
  });
})();

// Filters, a document's contents and, in results, a document's further passages are folded on a phone only; a browser without ::details-content keeps them open on wide screens.
(function () {
  if (!window.matchMedia || !window.matchMedia("(min-width: 761px)").matches) return;
  document.querySelectorAll("details.filters-fold, details.toc-fold, details.more-hits").forEach(function (fold) { fold.open = true; });
})();
