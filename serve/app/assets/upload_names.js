// Gradio's upload control is a button whose aria-label ("Click to upload or drop files") does not
// contain the text it shows ("Drop File Here - or - Click to Upload"): speech users say what they see,
// and axe flags label-content-name-mismatch. Its name becomes the text it shows, whenever one appears.
(() => {
  const name = (button) => {
    const shown = (button.innerText || "").replace(/\s+/g, " ").trim();
    if (shown && button.getAttribute("aria-label") !== shown) button.setAttribute("aria-label", shown);
  };
  const fix = () => document.querySelectorAll("button.upload-container").forEach(name);
  new MutationObserver(fix).observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener("DOMContentLoaded", fix);
})();
