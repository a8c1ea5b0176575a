(...args) => {
  const marked = [...document.querySelectorAll('#ann-text .sl-tok[aria-pressed="true"]')];
  args[2] = JSON.stringify(marked.flatMap((t) => t.dataset.i.split(" ").map(Number)));
  return args;
}
