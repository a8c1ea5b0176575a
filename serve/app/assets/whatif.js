// Analyze's "What if" (serve/app/whatif.py): the panel a click on a word opens (in the result, or in the
// edited review) offers "Drop this word" and "Negate it". The edit itself is made on the server, by the
// rules the batch counterfactuals use (explain/counterfactuals.py: "wasn't great" negates to "was great"):
// this sends the word's place in the what-if text (data-span), then the edit is scored. A word no longer
// at that place changes nothing, and the note under the box says so.
(() => {
  const field = (id) => document.querySelector(`#${id} textarea, #${id} input`);
  document.addEventListener("sentilens-whatif", (event) => {
    const {tok, how} = event.detail;
    const ask = field("whatif-click"), apply = document.getElementById("whatif-apply");
    if (!ask || !apply) return;
    const [start, end] = (tok.dataset.span || "").split(",").map(Number);
    ask.value = JSON.stringify({start: start || 0, end: end || 0, word: tok.textContent, how, at: Date.now()});
    ask.dispatchEvent(new Event("input", {bubbles: true}));  // Gradio reads the box on input
    setTimeout(() => apply.click(), 0);  // after Gradio has taken the input (the next task)
  });
})();
