// Analyze's "What if" (serve/whatif.py): the panel a click on a word opens (in the result, or in the
// edited review) offers "Drop this word" and "Negate it"; they edit the what-if box by the word's place
// in the text (data-span) and score the edit. "Negate" puts "not" before the word, takes away a "not"
// already there, and on "not", "never" or "no" itself drops it. If the box no longer holds the word at that place, nothing is changed and it says so.
(() => {
  const box = () => document.querySelector("#whatif textarea");
  const say = (text) => { const out = document.getElementById("whatif-note"); if (out) out.textContent = text; };
  const edited = (text, s, e, how) => {
    if (how === "drop") {
      const after = text.slice(e), before = text.slice(0, s);
      return /^ /.test(after) ? before + after.slice(1) : / $/.test(before) ? before.slice(0, -1) + after : before + after;
    }
    const not = /(^|\s)not\s+$/i.exec(text.slice(0, s));
    if (not) return text.slice(0, s - not[0].length + not[1].length) + text.slice(s);
    return text.slice(0, s) + "not " + text.slice(s);
  };
  document.addEventListener("sentilens-whatif", (event) => {
    const {tok} = event.detail;
    let {how} = event.detail;
    const b = box();
    if (!b) return;
    const [s, e] = (tok.dataset.span || "").split(",").map(Number);
    if (!(e > s) || b.value.slice(s, e) !== tok.textContent) {
      say(`"${tok.textContent}" is no longer at that place in the what-if text: edit it there, or Analyze again.`);
      return;
    }
    if (how === "negate" && /^(not|never|no)$/i.test(tok.textContent)) how = "drop";  // negating a negation: take it away
    b.value = edited(b.value, s, e, how);
    b.dispatchEvent(new Event("input", {bubbles: true}));  // Gradio reads the box on input
    say(`${how === "drop" ? "Dropped" : "Negated"} "${tok.textContent}".`);
    setTimeout(() => document.getElementById("whatif-score")?.click(), 50);
  });
})();
