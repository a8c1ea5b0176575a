// The word buttons of serve/review_view.py, run by gr.HTML(js_on_load=...) with `element` bound to
// the component. Listeners sit on `element`, so they keep working every time the review re-renders.
//   explain mode:  click (or Enter) on a word -> its nearest words in the panel under the text.
//   annotate mode: click a word, or select a stretch of text, to mark the rationale.
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
  const head = document.createElement("p");
  panel.appendChild(head);
  const list = data[word];
  if (list === null) {
    head.textContent = `"${word}" is not among the model's words: it reads it as "unknown" (id 2).`;
  } else if (list === undefined) {
    head.textContent = `No neighbours were computed for "${word}".`;
  } else {
    head.textContent = `Nearest words to "${word}" in the model's embedding (cosine similarity, 1 = same direction):`;
    const ul = document.createElement("ul");
    for (const [w, sim] of list) {
      const li = document.createElement("li");
      li.textContent = `${w} (${sim.toFixed(2)})`;
      ul.appendChild(li);
    }
    panel.appendChild(ul);
  }
  panel.hidden = false;
  panel.scrollIntoView({ block: "nearest" });
}

function showChosen() {
  const out = element.querySelector(".sl-chosen");
  if (!out) return;
  const words = [...element.querySelectorAll('.sl-tok[aria-pressed="true"]')].map((t) => t.textContent);
  out.textContent = words.length ? `Rationale: ${words.join(", ")}` :
    "Rationale (optional): click words, or select a stretch of text, that justify your label.";
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

let selecting = false;
element.addEventListener("mouseup", () => {
  const sel = window.getSelection();
  if (!review() || review().dataset.mode !== "annotate" || !sel || sel.isCollapsed) return;
  const hit = [...element.querySelectorAll(".sl-tok")].filter((t) => sel.containsNode(t, true));
  if (!hit.length) return;
  hit.forEach((t) => t.setAttribute("aria-pressed", "true"));
  sel.removeAllRanges();
  selecting = true;  // the click that ends a drag must not toggle its word back...
  setTimeout(() => { selecting = false; }, 0);  // ...but a drag that ends off a word sends no click to reset it
  showChosen();
});

element.addEventListener("click", (e) => {
  const tok = e.target.closest(".sl-tok");
  if (!tok || !element.contains(tok)) return;
  if (review().dataset.mode === "annotate") {
    if (!selecting) tok.setAttribute("aria-pressed", tok.getAttribute("aria-pressed") === "true" ? "false" : "true");
    selecting = false;
    showChosen();
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

watch("value", showChosen);
showChosen();
