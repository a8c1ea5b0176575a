// The word buttons of serve/review_view.py, run by gr.HTML(js_on_load=...) with `element` bound to
// the component. Listeners sit on `element`, so they keep working every time the review re-renders.
//   explain mode:  click (or Enter) on a word -> its nearest words in the panel under the text.
//   annotate mode: click a word, or drag across a stretch of text, to mark the rationale. On a touch
//                  screen with the model's view shown, a tap reads the word's value (a touch screen has no
//                  hover) and marks nothing; pressing and holding a word marks it (or unmarks it), shown or not.
//   both:          one tab stop; the arrow keys, Home and End move from word to word.
const review = () => element.querySelector(".sl-review");
const visibleWords = () => [...element.querySelectorAll(".sl-tok")].filter((t) => t.offsetParent !== null);

function showNeighbours(tok) {
  const panel = element.querySelector(".sl-nb");
  if (!panel) return;
  let data = {};
  try { data = JSON.parse(review().dataset.nb || "{}"); } catch (err) { data = {}; }
  const word = tok.dataset.w;
  panel.textContent = "";
  if (tok.dataset.tip) {  // the word's value first: a touch screen shows no tooltip
    const value = document.createElement("p");
    value.className = "sl-nb-value";
    value.textContent = tok.dataset.tip;
    panel.appendChild(value);
  }
  const head = document.createElement("p");
  panel.appendChild(head);
  const list = data[word];
  if (list === null) {
    head.textContent = `"${word}" is not among the model's words: it reads it as "unknown" (id 2).`;
  } else if (list === undefined) {
    head.textContent = `No neighbours were computed for "${word}".`;
  } else {
    head.textContent = `Nearest words to "${word}" by what the model does with them (the state they lead to and the score they move; cosine similarity, 1 = the same):`;
    const ul = document.createElement("ul");
    for (const [w, sim] of list) {
      const li = document.createElement("li");
      li.textContent = `${w} (${sim.toFixed(2)})`;
      ul.appendChild(li);
    }
    panel.appendChild(ul);
  }
  if (tok.dataset.span && element.closest("#result, #whatif-review")) {  // What if (assets/whatif.js)
    const row = document.createElement("p");
    for (const [how, label] of [["drop", "Drop this word"], ["negate", "Negate it"]]) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "sl-whatif";
      b.textContent = label;
      b.addEventListener("click", () => document.dispatchEvent(new CustomEvent("sentilens-whatif", {detail: {tok, how}})));
      row.appendChild(b);
    }
    panel.appendChild(row);
  }
  panel.hidden = false;
  panel.scrollIntoView({ block: "nearest" });
}

function showChosen(value, touch = false) {
  const out = element.querySelector(".sl-chosen");
  if (!out) return;
  const words = [...element.querySelectorAll('.sl-tok[aria-pressed="true"]')].map((t) => t.textContent);
  out.textContent = (words.length ? `Rationale: ${words.join(", ")}` :
    "Rationale (optional): click words, or drag across a stretch of text, that justify your label.") +
    (typeof value === "string" && value ? ` (${value})` : "") +
    (touch ? " Press and hold a word to mark it." : "");
}

// A tooltip opens toward the side of the word with more room and wraps to fit it: never off screen.
function placeTip(e) {
  const tok = e.target.closest && e.target.closest(".sl-tok");
  if (!tok) return;
  const r = tok.getBoundingClientRect(), width = document.documentElement.clientWidth;
  const leftwards = r.right > width - r.left;
  tok.classList.toggle("sl-tip-end", leftwards);
  tok.style.setProperty("--sl-tip-max", `${Math.max(80, (leftwards ? r.right : width - r.left) - 8)}px`);
}
element.addEventListener("mouseover", placeTip);
element.addEventListener("focusin", placeTip);

// A drag marks every word from the one where it started to the one where it ended. The words are found
// from the pointer's position, not from the browser's text selection (which will not start on a button's
// first pixel): a point in the space before a word belongs to that word.
const wordAt = (x, y) => {
  const on = document.elementFromPoint(x, y);
  const tok = on && on.closest && on.closest(".sl-tok");
  if (tok && element.contains(tok)) return tok;
  const line = visibleWords().filter((t) => { const r = t.getBoundingClientRect(); return r.top - 2 <= y && y <= r.bottom + 2; });
  return line.find((t) => t.getBoundingClientRect().right >= x) || line[line.length - 1] || null;
};
let selecting = false, dragFrom = null;
element.addEventListener("pointerdown", (e) => {
  dragFrom = review() && review().dataset.mode === "annotate" && e.button === 0 ?
    {word: wordAt(e.clientX, e.clientY), x: e.clientX, y: e.clientY} : null;
});
element.addEventListener("pointerup", (e) => {
  const from = dragFrom;
  dragFrom = null;
  if (!from || !from.word || Math.hypot(e.clientX - from.x, e.clientY - from.y) < 5) return;  // a click
  const to = wordAt(e.clientX, e.clientY);
  const words = visibleWords();
  let a = words.indexOf(from.word), b = words.indexOf(to);
  if (a < 0 || b < 0) return;
  if (a > b) [a, b] = [b, a];
  words.slice(a, b + 1).forEach((t) => t.setAttribute("aria-pressed", "true"));
  const sel = window.getSelection();
  if (sel) sel.removeAllRanges();
  selecting = true;  // the click that ends a drag must not toggle its word back...
  setTimeout(() => { selecting = false; }, 0);  // ...and a drag that ends off a word sends no click to reset it
  showChosen();
});

// Touch: a press held HOLD_MS on one word marks it; the tap that ends it does nothing more.
const HOLD_MS = 450;
const modelShown = () => Boolean(element.closest(".sl-show-model"));
const toggle = (tok) => tok.setAttribute("aria-pressed", tok.getAttribute("aria-pressed") === "true" ? "false" : "true");
let touched = null;  // the word a finger is on: {tok, x, y, timer, held}
const letGo = () => { if (touched) clearTimeout(touched.timer); };
element.addEventListener("pointerdown", (e) => {
  letGo();
  touched = null;
  const tok = e.pointerType === "touch" && e.target.closest && e.target.closest(".sl-tok");
  if (!tok || !element.contains(tok) || !review() || review().dataset.mode !== "annotate") return;
  const press = {tok, x: e.clientX, y: e.clientY, held: false, at: Date.now()};
  press.timer = setTimeout(() => { press.held = true; toggle(tok); showChosen(); }, HOLD_MS);
  touched = press;
});
element.addEventListener("pointermove", (e) => {
  if (touched && Math.hypot(e.clientX - touched.x, e.clientY - touched.y) > 10) { letGo(); touched = null; }  // a scroll
});
element.addEventListener("pointerup", letGo);
element.addEventListener("pointercancel", () => { letGo(); touched = null; });
element.addEventListener("contextmenu", (e) => { if (touched && touched.held) e.preventDefault(); });  // no menu after a hold

element.addEventListener("click", (e) => {
  const tok = e.target.closest(".sl-tok");
  if (!tok || !element.contains(tok)) return;
  if (review().dataset.mode === "annotate") {
    // a tap of a finger on this word (a click from the keyboard or a script, e.g. drafts.js, is no tap)
    const tap = touched && touched.tok === tok && Date.now() - touched.at < 5000 ? touched : null;
    touched = null;
    if (tap && tap.held) return;  // the hold marked it already
    if (tap && modelShown()) { showChosen(tok.dataset.tip || null, true); return; }  // read, not marked
    if (!selecting) toggle(tok);
    selecting = false;
    // with the model's view shown, the clicked word's value in words
    showChosen(modelShown() ? tok.dataset.tip : null);
  } else {
    showNeighbours(tok);
  }
});

element.addEventListener("keydown", (e) => {
  const tok = e.target.closest(".sl-tok");
  if (!tok) return;
  const words = visibleWords();
  const at = words.indexOf(tok);
  const to = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: words.length - 1 }[e.key];
  if (to === undefined || !words[to]) return;
  e.preventDefault();
  words.forEach((w) => w.setAttribute("tabindex", "-1"));
  words[to].setAttribute("tabindex", "0");
  words[to].focus();
});

watch("value", () => showChosen());
showChosen();
