// Follows submissions that are queued or running: every element with data-poll="<status URL>"
// shows the grader's progress, and the page reloads (with the score and feedback) once one ends.
"use strict";
(function () {
  const watched = Array.from(document.querySelectorAll("[data-poll]"));
  if (!watched.length) { return; }
  const classes = ["state-queued", "state-running", "state-graded", "state-failed"];
  function stateClass(state) {
    if (state === "queued" || state === "running") { return "state-" + state; }
    if (state === "graded" || state === "missing object") { return "state-graded"; }
    return state === "not graded" ? "" : "state-failed";
  }
  async function check(element) {
    const response = await fetch(element.dataset.poll, {credentials: "same-origin", cache: "no-store"});
    if (!response.ok) { return false; }
    const status = await response.json();
    const state = element.querySelector("[data-state]");
    if (state) {
      state.textContent = status.state;
      state.classList.remove(...classes);
      if (stateClass(status.state)) { state.classList.add(stateClass(status.state)); }
    }
    const words = element.querySelector("[data-words]");
    if (words) { words.textContent = status.words; }
    return status.final;
  }
  async function tick() {
    let finished = false;
    for (const element of watched) {
      try { finished = (await check(element)) || finished; } catch (error) { /* try again */ }
    }
    if (finished) { window.location.reload(); } else { window.setTimeout(tick, 2000); }
  }
  window.setTimeout(tick, 1500);
}());
