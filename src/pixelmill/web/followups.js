// pixelmill web app: follow-up controls in the job detail view (issue 8). Plain ES module, no
// build step; loaded by index.html after app.js and independent of it (it reads the open image
// from the URL, #/jobs/<id>/<index>, and talks only to POST /v1/jobs/{id}/actions).
//
// Adds to the detail dialog: vary (strong), upscale (creative), zoom out (1.5x, 2x, custom),
// pan (four arrows), vary region (a brush painted over the image; the mask is sent as a PNG
// whose painted pixels are opaque), and an optional edited prompt (remix) used by any of them.
// After a submit it opens the new job's detail view and refreshes it until the job finishes.

const HEADERS = { Accept: "application/json", "Content-Type": "application/json", "X-Pixelmill-Client": "web" };
const TERMINAL = new Set(["succeeded", "failed", "blocked", "cancelled"]);
const fx = { panel: null, canvas: null, painting: false, brushOn: false, painted: false, poll: null };

function current() {
  const m = (location.hash || "").match(/^#\/jobs\/([A-Za-z0-9_-]+)(?:\/(\d+))?/);
  return m ? { id: m[1], index: Number(m[2] || 0) } : null;
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "testid") e.dataset.testid = v;
    else if (k in e) e[k] = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

function status(text, kind = "") {
  const s = fx.panel?.querySelector('[data-testid="followup-status"]');
  if (s) {
    s.textContent = text;
    s.dataset.kind = kind;
  }
}

async function send(action, extra = {}) {
  const here = current();
  if (!here) return;
  const body = { action, index: here.index, ...extra };
  const remix = fx.panel.querySelector('[data-testid="followup-prompt"]').value.trim();
  if (remix) body.prompt = remix;
  status(`Submitting ${action.replace("_", " ")}…`);
  let res;
  try {
    res = await fetch(`/v1/jobs/${here.id}/actions`, {
      method: "POST", headers: HEADERS, credentials: "same-origin", body: JSON.stringify(body),
    });
  } catch {
    status("Cannot reach the server.", "error");
    return;
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    status((data && data.error && data.error.message) || `The server answered ${res.status}.`, "error");
    return;
  }
  status(`${action.replace("_", " ")} queued: job ${data.id.slice(0, 8)}`, "ok");
  follow(data.id);
}

/** Open the new job's detail view and refresh it (app.js redraws on hashchange) until done. */
function follow(jobId) {
  clearInterval(fx.poll);
  location.hash = `#/jobs/${jobId}/0`;
  fx.poll = setInterval(async () => {
    const res = await fetch(`/v1/jobs/${jobId}`, { headers: HEADERS, credentials: "same-origin" }).catch(() => null);
    if (!res || !res.ok) return;
    const job = await res.json();
    const p = job.progress || {};
    status(`${job.kind}: ${job.status}${p.total ? ` ${p.step}/${p.total}` : ""}`, job.status);
    if (TERMINAL.has(job.status)) {
      clearInterval(fx.poll);
      if (current()?.id === jobId) window.dispatchEvent(new HashChangeEvent("hashchange"));
    }
  }, 700);
}

// ---------------------------------------------------------------- the region brush
function image() {
  return document.querySelector("#detail-image");
}

function placeCanvas() {
  const img = image();
  const c = fx.canvas;
  if (!img || !c || img.hidden || !img.naturalWidth) return;
  if (c.width !== img.naturalWidth || c.height !== img.naturalHeight) {
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    fx.painted = false;
  }
  const wrap = img.parentElement;
  wrap.style.position = "relative";
  c.style.position = "absolute";
  c.style.left = `${img.offsetLeft}px`;
  c.style.top = `${img.offsetTop}px`;
  c.style.width = `${img.clientWidth}px`;
  c.style.height = `${img.clientHeight}px`;
  c.style.opacity = "0.5";
  c.style.cursor = "crosshair";
  c.style.touchAction = "none";
  c.hidden = !fx.brushOn;
}

function paintAt(ev) {
  const c = fx.canvas;
  const r = c.getBoundingClientRect();
  const x = ((ev.clientX - r.left) / r.width) * c.width;
  const y = ((ev.clientY - r.top) / r.height) * c.height;
  const size = Number(fx.panel.querySelector('[data-testid="brush-size"]').value) / 100;
  const radius = Math.max(1, size * Math.min(c.width, c.height));
  const g = c.getContext("2d");
  g.fillStyle = "rgb(255, 40, 40)";
  g.beginPath();
  g.arc(x, y, radius, 0, Math.PI * 2);
  g.fill();
  fx.painted = true;
}

function makeCanvas() {
  const c = el("canvas", { testid: "region-canvas", hidden: true });
  c.setAttribute("aria-label", "Paint the region to regenerate");
  c.addEventListener("pointerdown", (ev) => {
    fx.painting = true;
    c.setPointerCapture(ev.pointerId);
    paintAt(ev);
  });
  c.addEventListener("pointermove", (ev) => fx.painting && paintAt(ev));
  c.addEventListener("pointerup", () => (fx.painting = false));
  c.addEventListener("pointercancel", () => (fx.painting = false));
  return c;
}

function clearBrush() {
  const c = fx.canvas;
  c.getContext("2d").clearRect(0, 0, c.width, c.height);
  fx.painted = false;
}

function sendRegion() {
  if (!fx.painted) {
    status("Paint the area to regenerate first (Paint region).", "error");
    return;
  }
  send("vary_region", { mask_png_b64: fx.canvas.toDataURL("image/png") });
}

// ---------------------------------------------------------------- the panel
function button(label, testid, title, onClick) {
  const b = el("button", { type: "button", className: "action", testid, title, textContent: label });
  b.setAttribute("aria-label", title);
  b.addEventListener("click", onClick);
  return b;
}

function group(...children) {
  return el("div", { className: "action-group" }, ...children);
}

function buildPanel() {
  const prompt = el("input", { type: "text", testid: "followup-prompt", placeholder: "Edited prompt (remix, optional)",
    maxLength: 2000 });
  prompt.setAttribute("aria-label", "Edited prompt for a remix (optional)");
  const zoom = el("input", { type: "number", min: "1.05", max: "2", step: "0.05", value: "1.25", testid: "zoom-custom" });
  zoom.setAttribute("aria-label", "Custom zoom factor (greater than 1, at most 2)");
  zoom.style.width = "5em";
  const brush = el("input", { type: "range", min: "2", max: "25", value: "8", testid: "brush-size" });
  brush.setAttribute("aria-label", "Brush size");
  const paint = button("Paint region", "brush-toggle", "Paint the region to regenerate", () => {
    fx.brushOn = !fx.brushOn;
    paint.setAttribute("aria-pressed", String(fx.brushOn));
    placeCanvas();
  });
  paint.setAttribute("aria-pressed", "false");
  const panel = el("section", { className: "followups", testid: "followups-panel" },
    el("h3", { textContent: "Follow-ups" }),
    prompt,
    group(
      button("Vary (strong)", "followup-vary_strong", "Vary strongly: four new images", () => send("vary_strong")),
      button("Upscale (creative)", "followup-upscale_creative", "Upscale 2x adding detail", () => send("upscale_creative")),
      button("Reroll", "followup-reroll", "Same prompt, new seed (with an edited prompt: remix)", () => send("reroll")),
    ),
    group(
      button("Zoom 1.5x", "followup-zoom-1.5", "Zoom out 1.5x", () => send("zoom_out", { zoom: 1.5 })),
      button("Zoom 2x", "followup-zoom-2", "Zoom out 2x", () => send("zoom_out", { zoom: 2 })),
      zoom,
      button("Zoom", "followup-zoom-custom", "Zoom out by the custom factor", () => send("zoom_out", { zoom: Number(zoom.value) })),
    ),
    group(
      button("←", "followup-pan-left", "Pan left", () => send("pan", { direction: "left" })),
      button("→", "followup-pan-right", "Pan right", () => send("pan", { direction: "right" })),
      button("↑", "followup-pan-up", "Pan up", () => send("pan", { direction: "up" })),
      button("↓", "followup-pan-down", "Pan down", () => send("pan", { direction: "down" })),
    ),
    group(paint, brush,
      button("Clear", "brush-clear", "Clear the painted region", clearBrush),
      button("Vary region", "followup-vary_region", "Regenerate the painted region only", sendRegion),
    ),
    el("p", { className: "hint", testid: "followup-status", role: "status" }),
  );
  panel.style.marginTop = "14px";
  panel.style.display = "grid";
  panel.style.gap = "8px";
  return panel;
}

function attach() {
  const meta = document.querySelector("#detail .detail-meta");
  const img = image();
  if (!meta || !img || fx.panel) return;
  fx.panel = buildPanel();
  meta.append(fx.panel);
  fx.canvas = makeCanvas();
  img.parentElement.append(fx.canvas);
  img.addEventListener("load", placeCanvas);
  window.addEventListener("resize", placeCanvas);
  window.addEventListener("hashchange", () => {
    const here = current();
    if (!here || here.id !== fx.lastId || here.index !== fx.lastIndex) {
      fx.brushOn = false;
      fx.panel.querySelector('[data-testid="brush-toggle"]').setAttribute("aria-pressed", "false");
      if (fx.canvas) clearBrush();
    }
    fx.lastId = here?.id;
    fx.lastIndex = here?.index;
    placeCanvas();
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", attach);
else attach();
