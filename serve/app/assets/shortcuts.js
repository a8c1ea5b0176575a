// Annotate's keyboard flow. Keys act only outside text boxes and only on a visible button, so a key
// typed into the name or the note stays there and the Analyze tab never labels anything:
//   1 positive, 2 negative, 3 skip, u undo, n next review, m show or hide the model, e edit the note,
//   ? this list; Esc leaves a text box (and closes the list). Enter in the name box starts labelling
// and puts the focus on the review, so the next key is a label, not a letter of the name.
(() => {
  const KEYS = {"1": "ann-pos", "2": "ann-neg", "3": "ann-skip", "u": "ann-undo", "n": "ann-next"};
  const HELP = [["1", "Positive"], ["2", "Negative"], ["3", "Skip"], ["u", "Undo the last label"],
                ["n", "Next review (leave this one for later)"], ["m", "Show or hide the model's view"],
                ["e", "Edit the note"], ["Esc", "Leave a text box; close this list"], ["?", "Show this list"]];
  const TEXT_INPUTS = new Set(["text", "search", "email", "number", "password", "url", "tel", ""]);
  const typing = (t) => t && (t.tagName === "TEXTAREA" || t.isContentEditable ||
                              (t.tagName === "INPUT" && TEXT_INPUTS.has((t.getAttribute("type") || "").toLowerCase())));
  const visible = (el) => el && el.offsetParent !== null;
  const focusReview = () => {
    const target = document.querySelector("#ann-text .sl-tok") || document.getElementById("ann-pos");
    if (visible(target) && !target.disabled) { target.focus({preventScroll: false}); return true; }
    return false;
  };
  // After Enter in the name box the review arrives from the server a moment later: wait for it (up
  // to 5 s), unless the person has moved the focus somewhere else in the meantime.
  const focusReviewOnceShown = (from) => {
    const until = Date.now() + 5000;
    const tick = () => {
      if (document.activeElement !== from && document.activeElement !== document.body) return;
      // a review on screen (one with no word has no word to focus: the label buttons take it)
      const ready = document.querySelector("#ann-text [data-item]") && !document.getElementById("ann-pos")?.disabled;
      if (ready && focusReview()) return;
      if (Date.now() < until) setTimeout(tick, 50);
    };
    tick();
  };
  let help = null;
  const toggleHelp = (show) => {
    if (!help) {
      help = document.createElement("div");
      help.id = "ann-help";
      help.setAttribute("role", "dialog");
      help.setAttribute("aria-modal", "false");
      help.setAttribute("aria-label", "Keyboard shortcuts");
      help.innerHTML = "<h2>Keyboard shortcuts (Annotate)</h2><dl>" + HELP.map(
        ([k, what]) => `<div><dt><kbd>${k}</kbd></dt><dd>${what}</dd></div>`).join("") + "</dl>";
      (document.querySelector(".gradio-container") || document.body).appendChild(help);  // inside the app's CSS scope
    }
    help.hidden = !show;
  };
  // On a phone each new review starts at the top of the screen (the label bar stays at the bottom).
  document.addEventListener("sentilens-item", (e) => {  // from drafts.js, which watches the review on screen
    const info = document.getElementById("ann-info");
    if (e.detail && info && window.matchMedia("(max-width: 700px)").matches) info.scrollIntoView({block: "start"});
  });
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (e.key === "Escape") {
      if (help && !help.hidden) { toggleHelp(false); e.preventDefault(); return; }
      if (typing(t)) { t.blur(); focusReview(); e.preventDefault(); }
      return;
    }
    if (typing(t)) {
      if (e.key === "Enter" && t.closest && t.closest("#ann-name")) {
        e.preventDefault();  // no new line in the name
        t.blur();  // and the next key can never land in it, whatever the review holds
        focusReviewOnceShown(document.body);
      }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (!visible(document.getElementById("ann-pos"))) return;  // another tab is open
    if (e.key === "?") { toggleHelp(!help || help.hidden); e.preventDefault(); return; }
    if (e.key === "m") {
      const box = document.querySelector("#ann-show-model input");
      if (box) { box.click(); e.preventDefault(); }
      return;
    }
    if (e.key === "e") {
      const note = document.querySelector("#ann-note textarea, #ann-note input");
      if (visible(note)) { note.focus(); e.preventDefault(); }
      return;
    }
    const id = KEYS[e.key];
    const button = id && document.getElementById(id);
    if (visible(button) && !button.disabled) { e.preventDefault(); button.click(); }
  });
})();
