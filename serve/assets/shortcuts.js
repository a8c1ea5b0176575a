// Annotate's keyboard shortcuts: click the buttons by their elem_id unless the user is typing.
document.addEventListener("keydown", (e) => {
  const t = e.target;
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable)) return;
  const ids = {"1": "ann-pos", "2": "ann-neg", "3": "ann-skip", "u": "ann-undo"};
  const id = ids[e.key];
  if (!id) return;
  const button = document.getElementById(id);
  if (button) { e.preventDefault(); button.click(); }
});
