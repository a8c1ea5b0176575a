// The API page ("Use via API") in our words (serve/app/api_docs.py): Gradio 6 prints a fixed sentence
// before each parameter's description ("The input value that is provided in the "1st" Api component.")
// and only a fixed sentence for each return value ("The output value that appears in the "LABEL" Api
// component.", where LABEL is our description). Each text node of the page is rewritten once it appears
// (and again if Gradio redraws it, e.g. on a change of language). Also: the footer's icons sit beside
// their own names ("Settings" + an image named "Settings"), so they are marked decorative (axe:
// image-redundant-alt).
(() => {
  const INPUT = /^\s*The input value that is provided in the "[^"]*" Api\s+component\.\s*/;
  const OUTPUT = /^\s*The output value that appears in the "([\s\S]*)" Api\s+component\.\s*$/;
  const rewrite = (node) => {
    const text = node.nodeValue;
    if (!text || !text.includes(" Api")) return;
    const out = OUTPUT.exec(text);
    if (out) node.nodeValue = out[1];
    else if (INPUT.test(text)) node.nodeValue = text.replace(INPUT, "");
  };
  const tidy = () => {
    pending = false;
    for (const img of document.querySelectorAll("footer img:not([alt=''])")) img.alt = "";
    const docs = document.querySelector(".api-docs");
    if (!docs) return;
    // Gradio's page has icon buttons without a name and list items outside a list (axe)
    for (const b of docs.querySelectorAll("button:not([aria-label])")) {
      if (!b.textContent.trim()) b.setAttribute("aria-label", b.closest(".copy, .copy-button") || b.classList.contains("copy-button") ? "Copy" : "Close the API page");
    }
    for (const li of docs.querySelectorAll("li")) {
      const list = li.parentElement;
      if (list && !["UL", "OL"].includes(list.tagName) && list.getAttribute("role") !== "list") list.setAttribute("role", "list");
    }
    const walk = document.createTreeWalker(docs, NodeFilter.SHOW_TEXT);
    for (let node = walk.nextNode(); node; node = walk.nextNode()) rewrite(node);
  };
  let pending = false;
  const soon = () => { if (!pending) { pending = true; requestAnimationFrame(tidy); } };
  const start = () => new MutationObserver((changes) => {
    // cheap for the app's own updates: only a change in the footer or the API page starts a pass
    if (changes.some((c) => { const n = c.target.nodeType === 1 ? c.target : c.target.parentElement;
                               return n && n.closest && n.closest("footer, .api-docs, .api-docs-wrap") ||
                                 [...(c.addedNodes || [])].some((a) => a.nodeType === 1 &&
                                   (a.matches("footer, .api-docs, .api-docs-wrap") || a.querySelector("footer, .api-docs"))); }))
      soon();
  }).observe(document.body, {childList: true, subtree: true, characterData: true});
  if (document.body) { start(); soon(); } else document.addEventListener("DOMContentLoaded", () => { start(); soon(); });
})();
