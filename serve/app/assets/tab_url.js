// The open tab is in the address (?tab=annotate), so a reload or a shared link opens it again: the
// server selects the tab the address names on page load (serve/app/blocks.py), and this script writes
// the address whenever another tab is opened, by a click, a key or the app itself (the Data tab opens
// a row in Analyze). Until the named tab has been opened, the first tab shown while the page loads does
// not overwrite it.
(() => {
  const named = () => new URL(location.href).searchParams.get("tab");
  let waiting = named();  // the tab the address names, not opened yet
  const write = (id) => {
    const url = new URL(location.href);
    if (url.searchParams.get("tab") === id) return;
    url.searchParams.set("tab", id);
    history.replaceState(history.state, "", url);
  };
  const selected = () => document.querySelector('[role=tablist] button[role=tab][data-tab-id][aria-selected="true"]');
  const follow = () => {
    const tab = selected();
    if (!tab) return;
    const id = tab.dataset.tabId;
    if (waiting && id !== waiting) {
      const exists = document.querySelector(`[role=tablist] button[role=tab][data-tab-id="${CSS.escape(waiting)}"]`);
      if (exists) return;  // the server has not switched yet
    }
    waiting = null;
    write(id);
  };
  document.addEventListener("click", (e) => {
    if (e.target.closest && e.target.closest("[role=tablist] button[role=tab]")) waiting = null;
  }, true);
  const start = () => new MutationObserver((changes) => {
    if (changes.some((c) => c.type === "attributes" && c.target.matches && c.target.matches("button[role=tab]")))
      follow();
  }).observe(document.body, {subtree: true, attributes: true, attributeFilter: ["aria-selected"]});
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
