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
