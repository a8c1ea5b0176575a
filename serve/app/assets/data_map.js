// The Data tab's map (serve/app/data_map.py), run by gr.HTML(js_on_load=...) with `element`, `props`,
// `trigger` and `watch` bound. Every review is a point on a canvas (25,000 stay interactive: one canvas
// draw, a grid for the hover, a box or lasso tested point by point only when released).
//   drag: a box (or a lasso, as chosen) -> trigger("pick", {rows}) -> the slice below holds them
//   click on a point (or Enter on the focused one) -> trigger("open", {row}) -> the review in Analyze
//   hover or arrow keys: the review's start in a tooltip
const COLOURS = {
  label: {values: (d, i) => d.label[i], legend: [[1, "#2166ac", "positive"], [0, "#d6604d", "negative"], [-1, "#8c8c8c", "no label"]]},
  pred: {values: (d, i) => d.pred[i], legend: [[1, "#2166ac", "predicted positive"], [0, "#d6604d", "predicted negative"]]},
  error: {values: (d, i) => (d.label[i] < 0 ? -1 : d.label[i] === d.pred[i] ? 1 : 0),
          legend: [[1, "#9ab8d6", "right"], [0, "#b2182b", "wrong"], [-1, "#8c8c8c", "no label"]]},
  conf: {values: (d, i) => Math.min(4, Math.floor((Math.max(d.p[i], 1 - d.p[i]) - 0.5) * 10)),
         legend: [[0, "#fde725", "50-60%"], [1, "#5ec962", "60-70%"], [2, "#21918c", "70-80%"], [3, "#3b528b", "80-90%"],
                  [4, "#440154", "90-100%"]]},
};
const R = 2.2, PAD = 12;
let picked = null;  // Uint8Array: 1 for a point of the current selection
let grid = null, focus = -1, message = "";  // message: what the last selection did
// The points come packed (serve/app/data_map.py ``packed``): little-endian arrays in base64 and the texts
// joined by U+001F, so the component's value is a few strings, not 150,000 numbers for the page to watch.
let decoded = null, decodedFrom = null;
const bytes = (b64) => Uint8Array.from(atob(b64 || ""), (c) => c.charCodeAt(0)).buffer;
function data() {
  const v = props.value;
  if (!v || !v.n) return v && v.note ? {note: v.note, x: []} : null;
  if (decodedFrom !== v.x) {
    const x = new Uint16Array(bytes(v.x)), y = new Uint16Array(bytes(v.y)), p = new Uint16Array(bytes(v.p));
    decoded = {n: v.n, note: v.note, x: Float32Array.from(x, (u) => u / 65535), y: Float32Array.from(y, (u) => u / 65535),
               p: Float32Array.from(p, (u) => u / 65535), label: new Int8Array(bytes(v.label)),
               pred: new Int8Array(bytes(v.pred)), row: new Int32Array(bytes(v.row)), text: v.text.split("\u001f")};
    decodedFrom = v.x;
  }
  return decoded;
}
const q = (sel) => element.querySelector(sel);

function size() {
  const wrap = q(".sl-map-plot");
  const w = Math.max(200, wrap.clientWidth), h = Math.max(200, Math.min(520, Math.round(w * 0.62)));
  const dpr = window.devicePixelRatio || 1;
  for (const c of element.querySelectorAll(".sl-map-plot canvas")) {
    c.width = Math.round(w * dpr); c.height = Math.round(h * dpr);
    c.style.width = `${w}px`; c.style.height = `${h}px`;
    c.getContext("2d").setTransform(dpr, 0, 0, dpr, 0, 0);
  }
  wrap.style.height = `${h}px`;
  return [w, h];
}

function place(d, w, h) {  // screen coordinates of every point, and a grid of cells for the hover
  const n = d.x.length, sx = new Float32Array(n), sy = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    sx[i] = PAD + d.x[i] * (w - 2 * PAD);
    sy[i] = PAD + (1 - d.y[i]) * (h - 2 * PAD);
  }
  const cell = 12, cols = Math.ceil(w / cell) + 1, cells = new Map();
  for (let i = 0; i < n; i++) {
    const k = Math.floor(sy[i] / cell) * cols + Math.floor(sx[i] / cell);
    if (!cells.has(k)) cells.set(k, []);
    cells.get(k).push(i);
  }
  grid = {sx, sy, cell, cols, cells};
}

function draw() {
  const d = data(), canvas = q(".sl-map-canvas");
  if (!canvas) return;
  const t0 = performance.now();
  const [w, h] = size();
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, w, h);
  const status = q(".sl-map-status");
  if (!d || !d.x || !d.x.length) {
    grid = null;
    canvas.setAttribute("aria-label", "The map of the dataset: no file loaded yet.");
    if (status) status.textContent = (d && d.note) || "Load a file above: each review becomes a point here.";
    return;
  }
  place(d, w, h);
  const how = COLOURS[q(".sl-map-colour").value] || COLOURS.label;
  const n = d.x.length, {sx, sy} = grid;
  if (picked && picked.length !== n) picked = null;
  // one path per colour (and per selected/dimmed): a few fills for all the points
  for (const dim of picked ? [true, false] : [false]) {
    for (const [value, colour] of how.legend) {
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        if (how.values(d, i) !== value || (picked && (picked[i] === 1) === dim)) continue;
        ctx.moveTo(sx[i] + R, sy[i]);
        ctx.arc(sx[i], sy[i], R, 0, 2 * Math.PI);
      }
      ctx.globalAlpha = dim ? 0.12 : 0.75;
      ctx.fillStyle = colour;
      ctx.fill();
    }
  }
  ctx.globalAlpha = 1;
  const legend = q(".sl-map-legend");
  legend.textContent = "";
  for (const [, colour, name] of how.legend) {
    const item = document.createElement("span");
    const dot = document.createElement("i");
    dot.style.background = colour;
    item.append(dot, name);
    legend.appendChild(item);
  }
  const chosen = picked ? picked.reduce((a, b) => a + b, 0) : 0;
  canvas.setAttribute("aria-label", `The map of the dataset: ${n.toLocaleString("en")} reviews placed by what the ` +
    `model computes for them, coloured by ${q(".sl-map-colour").selectedOptions[0].text}` +
    (picked ? `; ${chosen.toLocaleString("en")} selected.` : ".") +
    " Drag to select a region; click a point to open it in Analyze; arrow keys move between points.");
  if (status) status.textContent = message || d.note || "";
  element.dataset.drawMs = (performance.now() - t0).toFixed(1);
  element.dataset.points = String(n);
  element.dataset.lonePoint = JSON.stringify(lonePoint(d));
  drawOver();
}

function drawOver(shape) {  // the selection being drawn and the focused point, on the upper canvas
  const over = q(".sl-map-over");
  if (!over) return;
  const ctx = over.getContext("2d");
  ctx.clearRect(0, 0, over.width, over.height);
  if (shape && shape.length > 1) {
    ctx.beginPath();
    ctx.moveTo(shape[0][0], shape[0][1]);
    for (const [x, y] of shape.slice(1)) ctx.lineTo(x, y);
    ctx.closePath();
    ctx.fillStyle = "rgba(33, 102, 172, 0.12)";
    ctx.strokeStyle = "#1f1f1f";
    ctx.setLineDash([4, 3]);
    ctx.fill();
    ctx.stroke();
  }
  if (grid && focus >= 0 && focus < grid.sx.length) {
    ctx.setLineDash([]);
    ctx.beginPath();
    ctx.arc(grid.sx[focus], grid.sy[focus], 6, 0, 2 * Math.PI);
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#000";
    ctx.stroke();
  }
}

function lonePoint(d) {  // a point far from the others (for a test or a demo to point at), among the first 500
  const {sx, sy} = grid;
  let best = 0, bestD = -1;
  for (let i = 0; i < Math.min(sx.length, 500); i++) {
    let near = Infinity;
    for (let j = 0; j < sx.length; j++) {
      if (j !== i) near = Math.min(near, (sx[i] - sx[j]) ** 2 + (sy[i] - sy[j]) ** 2);
    }
    if (near > bestD) { bestD = near; best = i; }
    if (sx.length > 2000) break;  // a large map: the first point will do
  }
  return {x: sx[best], y: sy[best], row: d.row[best]};
}

function nearestPoint(x, y, most = 8) {
  if (!grid) return -1;
  const {sx, sy, cell, cols, cells} = grid;
  let best = -1, bestD = most * most;
  const cx = Math.floor(x / cell), cy = Math.floor(y / cell);
  for (let gy = cy - 1; gy <= cy + 1; gy++) {
    for (let gx = cx - 1; gx <= cx + 1; gx++) {
      for (const i of cells.get(gy * cols + gx) || []) {
        const dd = (sx[i] - x) ** 2 + (sy[i] - y) ** 2;
        if (dd <= bestD) { bestD = dd; best = i; }
      }
    }
  }
  return best;
}

function tip(i, x, y) {
  const box = q(".sl-map-tip"), d = data();
  if (i < 0 || !d) { box.hidden = true; return; }
  const label = d.label[i] < 0 ? "no label" : d.label[i] ? "positive" : "negative";
  box.textContent = `Row ${d.row[i]} (${label}, P(positive) ${d.p[i].toFixed(3)}): ${d.text[i]}`;
  box.hidden = false;
  const plot = q(".sl-map-plot"), width = plot.clientWidth;
  box.style.left = `${Math.min(Math.max(0, x + 10), Math.max(0, width - box.offsetWidth))}px`;
  box.style.top = `${y + 12}px`;
}

function inside(poly, x, y) {
  let hit = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i], [xj, yj] = poly[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

function select(shape, box) {  // the points in the box or lasso, sent as the slice
  const t0 = performance.now(), {sx, sy} = grid, n = sx.length;
  picked = new Uint8Array(n);
  const rows = [];
  const [x0, y0] = shape[0], [x1, y1] = shape[shape.length - 1];
  const lo = [Math.min(x0, x1), Math.min(y0, y1)], hi = [Math.max(x0, x1), Math.max(y0, y1)];
  for (let i = 0; i < n; i++) {
    const hit = box ? sx[i] >= lo[0] && sx[i] <= hi[0] && sy[i] >= lo[1] && sy[i] <= hi[1] : inside(shape, sx[i], sy[i]);
    if (hit) { picked[i] = 1; rows.push(i); }
  }
  element.dataset.selectMs = (performance.now() - t0).toFixed(1);
  if (!rows.length) picked = null;
  message = rows.length ? `${rows.length.toLocaleString("en")} of ${n.toLocaleString("en")} reviews selected: the ` +
    "slice below holds only them." : "Nothing was inside the selection: the slice below holds every review.";
  draw();
  element.dataset.selected = String(rows.length);
  element.dataset.pickedRows = JSON.stringify(rows.map((i) => data().row[i]));
  // the selection as a bit mask in base64: 25,000 points are 3 kB, sent and checked at once
  const mask = new Uint8Array(Math.ceil(n / 8));
  for (const i of rows) mask[i >> 3] |= 128 >> (i & 7);
  let text = "";
  for (let i = 0; i < mask.length; i += 8192) text += String.fromCharCode(...mask.subarray(i, i + 8192));
  trigger("pick", {mask: btoa(text), n});
}

let drag = null;
const at = (e) => {
  const r = q(".sl-map-over").getBoundingClientRect();
  return [e.clientX - r.left, e.clientY - r.top];
};
element.addEventListener("pointerdown", (e) => {
  if (!e.target.classList.contains("sl-map-over") || !grid) return;
  e.preventDefault();
  e.target.setPointerCapture(e.pointerId);
  drag = {shape: [at(e)], box: q(".sl-map-tool").value === "box"};
});
element.addEventListener("pointermove", (e) => {
  if (!e.target.classList.contains("sl-map-over")) return;
  const [x, y] = at(e);
  if (!drag) { tip(nearestPoint(x, y), x, y); return; }
  if (drag.box) drag.shape = [drag.shape[0], [x, y]];
  else drag.shape.push([x, y]);
  const [x0, y0] = drag.shape[0];
  drawOver(drag.box ? [[x0, y0], [x, y0], [x, y], [x0, y]] : drag.shape);
});
element.addEventListener("pointerup", (e) => {
  if (!drag) return;
  const {shape, box} = drag;
  drag = null;
  const [x0, y0] = shape[0], [x1, y1] = at(e);
  if (Math.hypot(x1 - x0, y1 - y0) < 4) {  // a click, not a drag
    drawOver();
    const i = nearestPoint(x0, y0);
    if (i >= 0) open(i);
    return;
  }
  if (box) shape.push([x1, y1]);
  drawOver();
  select(shape, box);
});
element.addEventListener("pointerleave", () => { if (!drag) q(".sl-map-tip").hidden = true; });

function open(i) {
  focus = i;
  drawOver();
  trigger("open", {row: i});
}

// The keyboard: the map takes focus; arrows move to the nearest point that way, Enter opens it.
element.addEventListener("keydown", (e) => {
  if (!e.target.classList.contains("sl-map-over") || !grid) return;
  const {sx, sy} = grid, n = sx.length;
  if (e.key === "Enter" && focus >= 0) { e.preventDefault(); open(focus); return; }
  const dir = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1]}[e.key];
  if (!dir) return;
  e.preventDefault();
  if (focus < 0) focus = 0;
  else {
    let best = -1, bestD = Infinity;
    for (let i = 0; i < n; i++) {
      const dx = sx[i] - sx[focus], dy = sy[i] - sy[focus], along = dx * dir[0] + dy * dir[1];
      if (along <= 0) continue;
      const dd = along + 3 * Math.abs(dx * dir[1] + dy * dir[0]);
      if (dd < bestD) { bestD = dd; best = i; }
    }
    if (best >= 0) focus = best;
  }
  drawOver();
  tip(focus, sx[focus], sy[focus]);
});

element.addEventListener("change", (e) => {
  if (e.target.classList.contains("sl-map-colour")) draw();
});
element.addEventListener("click", (e) => {
  if (!e.target.classList.contains("sl-map-clear")) return;
  picked = null;
  element.dataset.selected = "0";
  message = "Selection cleared: the slice below holds every review again.";
  draw();
  trigger("pick", {mask: "", n: 0});
});

watch("value", () => { picked = null; focus = -1; message = ""; draw(); });
new ResizeObserver(() => { if (grid) draw(); }).observe(element);
draw();
