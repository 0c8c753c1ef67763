// Keyboard for the marking view: j / → next student, k / ← previous, m focuses the mark box.
// Keys typed into the mark or note boxes are left alone.
"use strict";
document.addEventListener("keydown", function (event) {
  const target = event.target;
  if (event.altKey || event.ctrlKey || event.metaKey ||
      (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA"))) { return; }
  const go = function (id) {
    const link = document.getElementById(id);
    if (link) { event.preventDefault(); window.location.href = link.href; }
  };
  if (event.key === "j" || event.key === "ArrowRight") { go("next"); }
  else if (event.key === "k" || event.key === "ArrowLeft") { go("previous"); }
  else if (event.key === "m") {
    const box = document.getElementById("points");
    if (box) { event.preventDefault(); box.focus(); box.select(); }
  }
});
