// The system-design whiteboard (issue 25): a small canvas of our own. Boxes, free text, arrows
// between shapes; select, move, relabel, delete. tldraw and Excalidraw were not used: each is a
// React application of megabytes that injects inline styles (and Excalidraw loads fonts and
// assets from a CDN by default), which the room's CSP (`script-src 'self'; style-src 'self'`)
// refuses. The board goes to the server as structured shapes and labels
// (`PUT /v1/sessions/{id}/whiteboard`), which the interviewer reads as sentences.

export const MAX_SHAPES = 100; // the server's caps (server/api/whiteboard.py)
export const MAX_ARROWS = 200;
export const MAX_LABEL = 80;
const BOX = { w: 140, h: 60 };
const SAVE_AFTER_MS = 600;
const HIT_ARROW_PX = 7;
const COLORS = {
  ink: "#1a1a1a",
  muted: "#595959",
  accent: "#0b57d0",
  fill: "#f3f5f9",
  grid: "#eef0f4",
};
const FONT = '15px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

// --- geometry (no DOM) ---------------------------------------------------------------------

export function contains(shape, x, y) {
  return x >= shape.x && x <= shape.x + shape.w && y >= shape.y && y <= shape.y + shape.h;
}

function center(shape) {
  return { x: shape.x + shape.w / 2, y: shape.y + shape.h / 2 };
}

// Where the segment from the shape's centre towards (tx, ty) leaves its rectangle.
export function border(shape, tx, ty) {
  const c = center(shape);
  const dx = tx - c.x;
  const dy = ty - c.y;
  if (!dx && !dy) return c;
  const sx = dx ? shape.w / 2 / Math.abs(dx) : Infinity;
  const sy = dy ? shape.h / 2 / Math.abs(dy) : Infinity;
  const s = Math.min(sx, sy, 1);
  return { x: c.x + dx * s, y: c.y + dy * s };
}

export function arrowEnds(from, to) {
  const a = center(from);
  const b = center(to);
  return [border(from, b.x, b.y), border(to, a.x, a.y)];
}

function distanceToSegment(p, a, b) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const length = dx * dx + dy * dy;
  const t = length ? Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / length)) : 0;
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

// The board as the server takes it.
export function boardOf(shapes, arrows) {
  const round = (n) => Math.round(n);
  return {
    shapes: shapes.map((s) => ({
      id: s.id,
      type: s.type,
      label: s.label.slice(0, MAX_LABEL),
      x: round(s.x),
      y: round(s.y),
      w: round(s.w),
      h: round(s.h),
    })),
    arrows: arrows.map((a) => ({ from: a.from, to: a.to, label: a.label.slice(0, MAX_LABEL) })),
  };
}

// --- the surface ---------------------------------------------------------------------------

export class Whiteboard {
  // root: the panel (room.html #whiteboard-panel); save(board) -> Promise of the server's
  // answer (with `description`), or throws.
  constructor(root, { save }) {
    this.root = root;
    this.saveBoard = save;
    this.canvas = root.querySelector("#wb-canvas");
    this.context = this.canvas.getContext("2d");
    this.label = root.querySelector("#wb-label");
    this.status = root.querySelector("[data-wb=status]");
    this.reading = root.querySelector("[data-wb=reading]");
    this.shapes = [];
    this.arrows = [];
    this.selected = null; // {kind: "shape", id} | {kind: "arrow", index}
    this.tool = "select";
    this.drag = null;
    this.nextId = 1;
    this.saving = false;
    this.dirty = false;
    this.closed = false;
    this._saveTimer = 0;
  }

  wire() {
    for (const button of this.root.querySelectorAll("button[data-tool]")) {
      button.addEventListener("click", (event) => {
        const tool = button.dataset.tool;
        // From the keyboard (no pointer: `detail` 0), Box and Text add one at a free spot at
        // once; the arrow keys then move it on the canvas and the connect form joins boxes.
        if (event.detail === 0 && (tool === "box" || tool === "text")) {
          const spot = this.freeSpot();
          this.addShape(tool, spot.x, spot.y);
          this.setTool("select");
        } else {
          this.setTool(tool);
        }
      });
    }
    this.root.querySelector("#wb-delete").addEventListener("click", () => this.deleteSelected());
    this.root.querySelector("#wb-connect").addEventListener("submit", (event) => {
      event.preventDefault();
      const from = this.root.querySelector("#wb-from").value;
      const to = this.root.querySelector("#wb-to").value;
      if (from && to && from !== to) this.addArrow(from, to);
    });
    this.label.addEventListener("input", () => this.relabel(this.label.value));
    this.label.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === "Escape") {
        event.preventDefault();
        this.canvas.focus({ preventScroll: true });
      }
    });
    this.canvas.addEventListener("pointerdown", (event) => this.pointerDown(event));
    this.canvas.addEventListener("pointermove", (event) => this.pointerMove(event));
    this.canvas.addEventListener("pointerup", (event) => this.pointerUp(event));
    this.canvas.addEventListener("dblclick", () => {
      if (this.selected) this.label.focus({ preventScroll: true });
    });
    this.canvas.addEventListener("keydown", (event) => this.key(event));
    new ResizeObserver(() => this.resize()).observe(this.canvas.parentElement);
    this.resize();
    this.setTool("select");
  }

  // A board saved earlier (a reload, a reconnect): drawn again, not saved again.
  load(board) {
    this.shapes = (board.shapes || []).map((s) => ({ ...s, label: s.label || "" }));
    this.arrows = (board.arrows || []).map((a) => ({ from: a.from, to: a.to, label: a.label || "" }));
    for (const shape of this.shapes) {
      const n = Number(String(shape.id).replace(/^s/, ""));
      if (Number.isInteger(n) && n >= this.nextId) this.nextId = n + 1;
    }
    if (board.description) this.showReading(board.description);
    this.changed(false);
  }

  // --- state changes ---

  addShape(type, x, y, w = BOX.w, h = BOX.h) {
    if (this.shapes.length >= MAX_SHAPES) {
      this.say(`The board holds at most ${MAX_SHAPES} shapes.`);
      return null;
    }
    const shape = { id: `s${this.nextId++}`, type, label: "", x, y, w, h };
    if (type === "text") Object.assign(shape, { w: 60, h: 24 });
    this.shapes.push(shape);
    this.select({ kind: "shape", id: shape.id });
    this.changed();
    this.label.focus({ preventScroll: true });
    return shape;
  }

  // The first place on a grid of box-sized cells that no shape overlaps.
  freeSpot() {
    const width = this.canvas.width / (window.devicePixelRatio || 1);
    const columns = Math.max(1, Math.floor((width - 20) / (BOX.w + 30)));
    for (let i = 0; i < MAX_SHAPES; i++) {
      const spot = { x: 20 + (i % columns) * (BOX.w + 30), y: 20 + Math.floor(i / columns) * (BOX.h + 40) };
      const cell = { ...spot, w: BOX.w, h: BOX.h };
      const overlaps = this.shapes.some(
        (s) => s.x < cell.x + cell.w && cell.x < s.x + s.w && s.y < cell.y + cell.h && cell.y < s.y + s.h,
      );
      if (!overlaps) return spot;
    }
    return { x: 20, y: 20 };
  }

  addArrow(from, to) {
    if (from === to) return;
    if (this.arrows.some((a) => a.from === from && a.to === to)) return;
    if (this.arrows.length >= MAX_ARROWS) {
      this.say(`The board holds at most ${MAX_ARROWS} arrows.`);
      return;
    }
    this.arrows.push({ from, to, label: "" });
    this.select({ kind: "arrow", index: this.arrows.length - 1 });
    this.changed();
  }

  relabel(text) {
    const target = this.selectedItem();
    if (!target) return;
    target.label = text.slice(0, MAX_LABEL);
    if (this.selected.kind === "shape" && target.type === "text") this.fitText(target);
    this.changed();
  }

  deleteSelected() {
    if (!this.selected || this.closed) return;
    if (this.selected.kind === "shape") {
      const id = this.selected.id;
      this.shapes = this.shapes.filter((s) => s.id !== id);
      this.arrows = this.arrows.filter((a) => a.from !== id && a.to !== id);
    } else {
      this.arrows.splice(this.selected.index, 1);
    }
    this.select(null);
    this.changed();
  }

  moveBy(shape, dx, dy) {
    shape.x += dx;
    shape.y += dy;
  }

  // --- selection and tools ---

  selectedItem() {
    if (!this.selected) return null;
    if (this.selected.kind === "shape") return this.shapes.find((s) => s.id === this.selected.id) || null;
    return this.arrows[this.selected.index] || null;
  }

  select(selection) {
    // An empty text label left behind is no note: it goes.
    const before = this.selectedItem();
    let dropped = false;
    if (before && this.selected.kind === "shape" && before.type === "text" && !before.label.trim()) {
      if (!selection || selection.id !== before.id) {
        this.shapes = this.shapes.filter((s) => s !== before);
        dropped = true;
      }
    }
    this.selected = selection;
    const item = this.selectedItem();
    this.label.disabled = !item || this.closed;
    this.label.value = item ? item.label : "";
    this.label.placeholder = !item
      ? "Select a shape or an arrow"
      : this.selected.kind === "arrow"
        ? "Label this arrow (optional)"
        : "Label this shape";
    this.root.querySelector("#wb-delete").disabled = !item || this.closed;
    if (dropped) this.changed();
    else this.draw();
  }

  setTool(tool) {
    this.tool = tool;
    for (const button of this.root.querySelectorAll("button[data-tool]")) {
      button.setAttribute("aria-pressed", String(button.dataset.tool === tool));
    }
    this.canvas.dataset.mode = tool;
  }

  // --- pointer and keys ---

  point(event) {
    const rect = this.canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  shapeAt(p) {
    for (let i = this.shapes.length - 1; i >= 0; i--) {
      if (contains(this.shapes[i], p.x, p.y)) return this.shapes[i];
    }
    return null;
  }

  arrowAt(p) {
    for (let i = this.arrows.length - 1; i >= 0; i--) {
      const ends = this.ends(this.arrows[i]);
      if (ends && distanceToSegment(p, ends[0], ends[1]) <= HIT_ARROW_PX) return i;
    }
    return -1;
  }

  ends(arrow) {
    const from = this.shapes.find((s) => s.id === arrow.from);
    const to = this.shapes.find((s) => s.id === arrow.to);
    return from && to ? arrowEnds(from, to) : null;
  }

  pointerDown(event) {
    if (this.closed || event.button !== 0) return;
    event.preventDefault(); // no mousedown focus: a new shape's label box keeps the focus
    this.canvas.focus({ preventScroll: true });
    const p = this.point(event);
    this.canvas.setPointerCapture(event.pointerId);
    const hit = this.shapeAt(p);
    if (this.tool === "box") {
      this.drag = { kind: "create", start: p, now: p };
    } else if (this.tool === "text") {
      this.addShape("text", p.x, p.y - 12);
      this.setTool("select");
    } else if (this.tool === "arrow") {
      if (hit) this.drag = { kind: "arrow", from: hit.id, now: p };
    } else if (hit) {
      this.select({ kind: "shape", id: hit.id });
      this.drag = { kind: "move", shape: hit, last: p, moved: false };
    } else {
      const index = this.arrowAt(p);
      this.select(index >= 0 ? { kind: "arrow", index } : null);
    }
    this.draw();
  }

  pointerMove(event) {
    if (!this.drag) return;
    const p = this.point(event);
    if (this.drag.kind === "move") {
      this.moveBy(this.drag.shape, p.x - this.drag.last.x, p.y - this.drag.last.y);
      this.drag.last = p;
      this.drag.moved = true;
    } else {
      this.drag.now = p;
    }
    this.draw();
  }

  pointerUp(event) {
    const drag = this.drag;
    this.drag = null;
    if (!drag) return;
    const p = this.point(event);
    if (drag.kind === "create") {
      const w = Math.abs(p.x - drag.start.x);
      const h = Math.abs(p.y - drag.start.y);
      if (w < 20 || h < 20) this.addShape("box", p.x - BOX.w / 2, p.y - BOX.h / 2);
      else this.addShape("box", Math.min(p.x, drag.start.x), Math.min(p.y, drag.start.y), w, h);
      this.setTool("select");
    } else if (drag.kind === "arrow") {
      const target = this.shapeAt(p);
      if (target && target.id !== drag.from) this.addArrow(drag.from, target.id);
    } else if (drag.kind === "move" && drag.moved) {
      this.changed();
    }
    this.draw();
  }

  key(event) {
    if (this.closed) return;
    const item = this.selectedItem();
    if ((event.key === "Delete" || event.key === "Backspace") && item) {
      event.preventDefault();
      this.deleteSelected();
    } else if (event.key === "Escape") {
      this.select(null);
    } else if (event.key === "Enter" && item) {
      event.preventDefault();
      this.label.focus({ preventScroll: true });
    } else if (item && this.selected.kind === "shape" && event.key.startsWith("Arrow")) {
      event.preventDefault();
      const step = event.shiftKey ? 1 : 10;
      const [dx, dy] = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[
        event.key
      ];
      this.moveBy(item, dx, dy);
      this.changed();
    }
  }

  // --- drawing ---

  resize() {
    const width = this.canvas.parentElement.clientWidth;
    const height = Math.max(320, Math.round(width * 0.6));
    const ratio = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.context.setTransform(ratio, 0, 0, ratio, 0, 0);
    this.draw();
  }

  fitText(shape) {
    this.context.font = FONT;
    shape.w = Math.max(60, Math.ceil(this.context.measureText(shape.label || " ").width) + 12);
    shape.h = 24;
  }

  draw() {
    const g = this.context;
    const width = this.canvas.width / (window.devicePixelRatio || 1);
    const height = this.canvas.height / (window.devicePixelRatio || 1);
    g.clearRect(0, 0, width, height);
    g.strokeStyle = COLORS.grid;
    g.lineWidth = 1;
    for (let x = 20; x < width; x += 20) {
      g.beginPath();
      g.moveTo(x + 0.5, 0);
      g.lineTo(x + 0.5, height);
      g.stroke();
    }
    for (let y = 20; y < height; y += 20) {
      g.beginPath();
      g.moveTo(0, y + 0.5);
      g.lineTo(width, y + 0.5);
      g.stroke();
    }
    g.font = FONT;
    g.textAlign = "center";
    g.textBaseline = "middle";
    this.arrows.forEach((arrow, index) => {
      const ends = this.ends(arrow);
      if (!ends) return;
      const chosen = this.selected && this.selected.kind === "arrow" && this.selected.index === index;
      this.drawArrow(ends[0], ends[1], chosen ? COLORS.accent : COLORS.ink, chosen ? 3 : 2);
      if (arrow.label) {
        const mid = { x: (ends[0].x + ends[1].x) / 2, y: (ends[0].y + ends[1].y) / 2 };
        const w = g.measureText(arrow.label).width + 8;
        g.fillStyle = "#ffffff";
        g.fillRect(mid.x - w / 2, mid.y - 10, w, 20);
        g.fillStyle = COLORS.muted;
        g.fillText(arrow.label, mid.x, mid.y);
      }
    });
    for (const shape of this.shapes) {
      const chosen = this.selected && this.selected.kind === "shape" && this.selected.id === shape.id;
      if (shape.type === "box") {
        g.fillStyle = COLORS.fill;
        g.strokeStyle = chosen ? COLORS.accent : COLORS.ink;
        g.lineWidth = chosen ? 3 : 2;
        g.beginPath();
        g.roundRect(shape.x, shape.y, shape.w, shape.h, 8);
        g.fill();
        g.stroke();
        g.fillStyle = shape.label ? COLORS.ink : COLORS.muted;
        this.wrapText(shape.label || (chosen ? "type a label" : ""), shape);
      } else {
        if (chosen) {
          g.strokeStyle = COLORS.accent;
          g.setLineDash([4, 3]);
          g.lineWidth = 1.5;
          g.strokeRect(shape.x, shape.y, shape.w, shape.h);
          g.setLineDash([]);
        }
        g.fillStyle = shape.label ? COLORS.ink : COLORS.muted;
        g.fillText(shape.label || "type…", shape.x + shape.w / 2, shape.y + shape.h / 2);
      }
    }
    const drag = this.drag;
    if (drag && drag.kind === "create") {
      g.strokeStyle = COLORS.accent;
      g.setLineDash([6, 4]);
      g.lineWidth = 1.5;
      g.strokeRect(drag.start.x, drag.start.y, drag.now.x - drag.start.x, drag.now.y - drag.start.y);
      g.setLineDash([]);
    } else if (drag && drag.kind === "arrow") {
      const from = this.shapes.find((s) => s.id === drag.from);
      if (from) this.drawArrow(border(from, drag.now.x, drag.now.y), drag.now, COLORS.accent, 2);
    }
  }

  drawArrow(a, b, color, width) {
    const g = this.context;
    const angle = Math.atan2(b.y - a.y, b.x - a.x);
    g.strokeStyle = color;
    g.fillStyle = color;
    g.lineWidth = width;
    g.beginPath();
    g.moveTo(a.x, a.y);
    g.lineTo(b.x, b.y);
    g.stroke();
    g.beginPath();
    g.moveTo(b.x, b.y);
    g.lineTo(b.x - 12 * Math.cos(angle - 0.4), b.y - 12 * Math.sin(angle - 0.4));
    g.lineTo(b.x - 12 * Math.cos(angle + 0.4), b.y - 12 * Math.sin(angle + 0.4));
    g.closePath();
    g.fill();
  }

  wrapText(text, shape) {
    const g = this.context;
    const words = text.split(/\s+/).filter(Boolean);
    const lines = [];
    let line = "";
    for (const word of words) {
      const next = line ? `${line} ${word}` : word;
      if (line && g.measureText(next).width > shape.w - 12) {
        lines.push(line);
        line = word;
      } else {
        line = next;
      }
    }
    if (line) lines.push(line);
    const top = shape.y + shape.h / 2 - ((lines.length - 1) * 18) / 2;
    lines.forEach((part, i) => g.fillText(part, shape.x + shape.w / 2, top + i * 18, shape.w - 8));
  }

  // --- saving ---

  changed(save = true) {
    this.draw();
    this.refreshConnect();
    this.root.dataset.shapes = String(this.shapes.length);
    this.root.dataset.arrows = String(this.arrows.length);
    if (!save) return;
    this.dirty = true;
    this.say("Saving…");
    clearTimeout(this._saveTimer);
    this._saveTimer = setTimeout(() => this.save(), SAVE_AFTER_MS);
  }

  refreshConnect() {
    const options = this.shapes
      .filter((s) => s.type === "box")
      .map((s, i) => {
        const option = document.createElement("option");
        option.value = s.id;
        option.textContent = s.label || `Box ${i + 1}`;
        return option;
      });
    for (const id of ["#wb-from", "#wb-to"]) {
      const select = this.root.querySelector(id);
      const kept = select.value;
      select.replaceChildren(...options.map((option) => option.cloneNode(true)));
      if (kept) select.value = kept;
    }
    if (this.root.querySelector("#wb-to").selectedIndex === 0 && options.length > 1) {
      this.root.querySelector("#wb-to").selectedIndex = 1;
    }
  }

  // Save now what is waiting for the debounce (an answer is being sent, the interview ends):
  // the interviewer then reads the board as the candidate sees it.
  async flush() {
    if (this.closed) return;
    while (this.saving) await new Promise((resolve) => setTimeout(resolve, 50));
    if (this.dirty) await this.save();
  }

  async save() {
    clearTimeout(this._saveTimer);
    if (this.saving) return; // the save in flight saves again when it ends
    this.saving = true;
    this.dirty = false;
    this.root.dataset.saved = "pending";
    try {
      const answer = await this.saveBoard(boardOf(this.shapes, this.arrows));
      this.showReading(answer.description || "");
      this.say(this.dirty ? "Saving…" : "Saved.");
      this.root.dataset.saved = this.dirty ? "pending" : String(answer.version);
    } catch (error) {
      this.say(`Not saved: ${error.message}`);
      this.root.dataset.saved = "error";
    } finally {
      this.saving = false;
      if (this.dirty && !this.closed) this._saveTimer = setTimeout(() => this.save(), SAVE_AFTER_MS);
    }
  }

  showReading(text) {
    this.reading.textContent = text || "Nothing drawn yet.";
  }

  say(text) {
    this.status.textContent = text;
  }

  close() {
    if (this.dirty) this.save();
    this.closed = true;
    this.select(null);
    for (const control of this.root.querySelectorAll("button, input, select")) control.disabled = true;
  }
}
