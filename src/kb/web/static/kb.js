// Optional niceties; every page works without this file.
// "/" focuses the search box, as on many search sites.
document.addEventListener("keydown", function (e) {
  if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
  var t = e.target && e.target.tagName;
  if (t === "INPUT" || t === "TEXTAREA" || (e.target && e.target.isContentEditable)) return;
  var box = document.getElementById("q") || document.getElementById("dq");
  if (box) { e.preventDefault(); box.focus(); box.select(); }
});
