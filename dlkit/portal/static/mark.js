// Keyboard for the marking view: j / → next student, k / ← previous, m focuses the mark box.
// They work from the start: in the mark box (focused on load) while it is still empty, and
// anywhere else on the page; Escape leaves the mark or note box. Other typing is left alone.
"use strict";
document.addEventListener("keydown", function (event) {
  const target = event.target;
  if (event.altKey || event.ctrlKey || event.metaKey) { return; }
  const typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA");
  if (typing && event.key === "Escape") { target.blur(); return; }
  const emptyMarkBox = target && target.id === "points" && target.value === "";
  if (typing && !emptyMarkBox) { return; }
  const go = function (id) {
    const link = document.getElementById(id);
    if (link) { event.preventDefault(); window.location.href = link.href; }
  };
  if (event.key === "j" || (!typing && event.key === "ArrowRight")) { go("next"); }
  else if (event.key === "k" || (!typing && event.key === "ArrowLeft")) { go("previous"); }
  else if (event.key === "m" && !typing) {
    const box = document.getElementById("points");
    if (box) { event.preventDefault(); box.focus(); box.select(); }
  }
});
