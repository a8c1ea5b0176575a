// Annotate's drafts: the note and the marked words of the review on screen are kept in this browser
// until a label is sent, so a reload (or a closed tab) loses neither. One draft per review
// (data-item on the page), the newest 50 kept; a label, skip or undo ends the draft of its review.
// It also tells the page when another review comes on screen (the "sentilens-item" event).
(() => {
  const KEY = "sentilens-drafts";
  const read = () => { try { return JSON.parse(localStorage.getItem(KEY) || "{}") || {}; } catch { return {}; } };
  const write = (drafts) => {
    const names = Object.keys(drafts);
    names.slice(0, Math.max(0, names.length - 50)).forEach((k) => delete drafts[k]);  // oldest first
    try { localStorage.setItem(KEY, JSON.stringify(drafts)); } catch { /* storage full or denied: no draft */ }
  };
  const onScreen = () => document.querySelector("#ann-text [data-item]")?.dataset.item || null;
  const noteBox = () => document.querySelector("#ann-note textarea, #ann-note input");
  const marked = () => [...document.querySelectorAll('#ann-text .sl-tok[aria-pressed="true"]')].map((t) => t.dataset.i);
  let restoring = false, shownItem = null;
  const save = () => {
    const item = onScreen();
    if (!item || restoring || item !== shownItem) return;
    const drafts = read();
    delete drafts[item];
    const note = noteBox()?.value || "", words = marked();
    if (note || words.length) drafts[item] = {note, words};
    write(drafts);
  };
  const restore = () => {
    const item = onScreen();
    if (item === shownItem) return;
    shownItem = item;
    document.dispatchEvent(new CustomEvent("sentilens-item", {detail: item}));  // a new review on screen (shortcuts.js)
    // The note box may mount after the review, and the page-load answer empties it a moment later:
    // apply the draft now and again while the page settles.
    for (const delay of [0, 300, 1000, 2500]) setTimeout(() => apply(item), delay);
  };
  const apply = (item) => {
    const draft = item && item === onScreen() && read()[item];
    if (!draft) return;
    restoring = true;
    try {
      for (const i of draft.words || []) {
        const word = document.querySelector(`#ann-text .sl-tok[data-i="${CSS.escape(String(i))}"]`);
        if (word && word.getAttribute("aria-pressed") !== "true") word.click();  // review.js marks it
      }
      const box = noteBox();
      if (box && !box.value && draft.note) {
        box.value = draft.note;
        box.dispatchEvent(new Event("input", {bubbles: true}));  // Gradio reads the box on input
      }
    } finally { restoring = false; }
  };
  const ended = () => { const item = onScreen(); if (item) { const d = read(); delete d[item]; write(d); } };
  document.addEventListener("click", (e) => {
    if (e.target.closest && e.target.closest("#ann-pos, #ann-neg, #ann-skip")) ended();
  }, true);
  document.addEventListener("input", (e) => { if (e.target.closest && e.target.closest("#ann-note")) save(); });
  new MutationObserver((changes) => {
    const text = document.getElementById("ann-text");
    if (!text) return;
    if (changes.some((c) => c.type === "childList")) restore();  // cheap: compares the item on screen
    if (changes.some((c) => c.type === "attributes" && text.contains(c.target))) save();
  }).observe(document.documentElement, {childList: true, subtree: true, attributes: true, attributeFilter: ["aria-pressed"]});
})();
