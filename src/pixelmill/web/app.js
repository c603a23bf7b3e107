// pixelmill web app: plain ES module, no build step. Talks only to the gateway's /v1 API.
//
// Auth: a session cookie (HttpOnly, SameSite=Strict) set by POST /v1/session from an API key
// or a one-time sign-in token (#signin=TOKEN). Unsafe requests carry X-Pixelmill-Client, which a
// cross-site form cannot send, so the cookie cannot be used for CSRF.
// Live progress: EventSource on /v1/jobs/{id}/events (same-origin, cookie auth); the browser
// resumes with Last-Event-ID after a dropped connection.

const $ = (sel) => document.querySelector(sel);
const TERMINAL = new Set(["succeeded", "failed", "blocked", "cancelled"]);
const ACTIONS = [
  { key: "upscale_subtle", label: "U", title: "Upscale image" },
  { key: "vary_subtle", label: "V", title: "Vary image" },
];

const state = {
  me: null,
  caps: { actions: [], params: [], modes: [] },
  streams: new Map(), // job id -> EventSource
  jobs: new Map(), // job id -> last job JSON seen
  history: { cursor: null, query: "", loading: false, done: false, seq: 0 },
  detail: { job: null, index: 0 },
  lastView: "#/",
};

// ---------------------------------------------------------------- HTTP
class ApiError extends Error {
  constructor(status, code, message, body, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
    this.retryAfter = retryAfter;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json", "X-Pixelmill-Client": "web" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, "network_error", "Cannot reach the server. Is `pixelmill serve` running?");
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(
      res.status,
      err.code || `http_${res.status}`,
      err.message || `The server answered ${res.status}.`,
      data,
      Number(res.headers.get("Retry-After") || 0),
    );
  }
  return data;
}

// ---------------------------------------------------------------- notices
function notify(kind, title, text) {
  const box = $("#notice");
  box.dataset.kind = kind;
  $("#notice-title").textContent = title;
  $("#notice-text").textContent = text;
  box.hidden = false;
}

function clearNotice() {
  $("#notice").hidden = true;
}

function notifyError(err) {
  if (err.code === "prompt_blocked") {
    const cat = err.body?.error?.category;
    notify("blocked", "Prompt blocked" + (cat ? ` (${cat.replace(/_/g, " ")})` : ""), err.message);
  } else if (err.status === 429) {
    const wait = err.retryAfter ? ` · try again in ${err.retryAfter} s` : "";
    notify("rate-limited", `Slow down${wait}`, err.message);
  } else if (err.status === 401) {
    notify("auth", "Signed out", err.message);
    showSignin();
  } else {
    notify("error", "Something went wrong", err.message);
  }
}

// ---------------------------------------------------------------- sign in
async function signIn(payload) {
  const me = await api("POST", "/v1/session", payload);
  state.me = me;
  return me;
}

function showSignin() {
  closeStreams();
  state.me = null;
  $("#signin-view").hidden = false;
  $("#create-view").hidden = true;
  $("#history-view").hidden = true;
  $("#nav").hidden = true;
  $("#account").hidden = true;
  $("#api-key-input").focus();
}

async function boot() {
  const m = location.hash.match(/signin=([A-Za-z0-9_\-]+)/);
  if (m) {
    history.replaceState(null, "", location.pathname + "#/");
    try {
      await signIn({ signin_token: m[1] });
    } catch (err) {
      notify("auth", "Sign-in link not valid", err.message);
    }
  }
  if (!state.me) {
    try {
      state.me = await api("GET", "/v1/me");
    } catch (err) {
      if (err.status !== 401) notifyError(err);
      showSignin();
      return;
    }
  }
  await enterApp();
}

async function enterApp() {
  $("#signin-view").hidden = true;
  $("#nav").hidden = false;
  $("#account").hidden = false;
  $("#account-name").textContent = state.me.name;
  $("#account-tier").textContent = state.me.tier;
  try {
    state.caps = await api("GET", "/v1/capabilities");
  } catch (err) {
    notifyError(err);
  }
  fillModes();
  renderHints();
  route();
  loadFeed();
}

// ---------------------------------------------------------------- prompt + settings
const PARAM_ALIASES = {
  ar: ["ar", "aspect"],
  stylize: ["stylize", "s"],
  chaos: ["chaos", "c"],
};

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Rewrite one --param in the prompt text: drop every alias of it, then append the new value. */
function setParam(text, name, value) {
  let out = text;
  for (const alias of PARAM_ALIASES[name] || [name]) {
    out = out.replace(new RegExp(`\\s*--${escapeRe(alias)}(\\s+[^\\s-][^\\s]*)?(?=\\s|$)`, "g"), "");
  }
  out = out.trim();
  return value === "" || value === null ? out : `${out} --${name} ${value}`.trim();
}

function setModeFlag(text, mode) {
  let out = text;
  for (const m of state.caps.modes || []) {
    out = out.replace(new RegExp(`\\s*--${escapeRe(m)}(?=\\s|$)`, "g"), "");
  }
  out = out.trim();
  return mode ? `${out} --${mode}`.trim() : out;
}

function readParam(text, name) {
  for (const alias of PARAM_ALIASES[name] || [name]) {
    const m = text.match(new RegExp(`--${escapeRe(alias)}\\s+([^\\s-][^\\s]*)`));
    if (m) return m[1];
  }
  return "";
}

function fillModes() {
  const select = $("#setting-mode");
  select.length = 1;
  const allowed = new Set(state.me.modes || []);
  for (const mode of state.caps.modes || []) {
    const opt = document.createElement("option");
    opt.value = mode;
    opt.textContent = allowed.has(mode) ? mode : `${mode} (not in your tier)`;
    opt.disabled = !allowed.has(mode);
    select.append(opt);
  }
}

function syncSettingsFromPrompt() {
  const text = $("#prompt-input").value;
  $("#setting-ar").value = readParam(text, "ar");
  for (const name of ["stylize", "chaos"]) {
    const v = readParam(text, name);
    const input = $(`#setting-${name}`);
    if (v !== "") input.value = v;
    $(`#setting-${name}-value`).textContent = v === "" ? "default" : v;
  }
  const mode = (state.caps.modes || []).find((m) => new RegExp(`--${m}(\\s|$)`).test(text));
  $("#setting-mode").value = mode || "";
}

function renderHints() {
  const box = $("#param-hints");
  const text = $("#prompt-input").value;
  const m = text.match(/--([a-z]*)$/);
  box.replaceChildren();
  const params = state.caps.params || [];
  const shown = m ? params.filter((p) => p.name.startsWith(m[1])) : [];
  if (!m) {
    box.textContent = "Type -- for parameters. Enter to imagine, Shift+Enter for a new line.";
    return;
  }
  for (const p of shown) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "hint-chip";
    b.dataset.testid = "param-hint";
    b.textContent = `--${p.name}`;
    b.title = p.hint;
    const small = document.createElement("small");
    small.textContent = ` ${p.hint}`;
    b.append(small);
    b.addEventListener("click", () => {
      const input = $("#prompt-input");
      input.value = input.value.replace(/--[a-z]*$/, `--${p.name} `);
      input.focus();
      renderHints();
    });
    box.append(b);
  }
}

function autoGrow() {
  const t = $("#prompt-input");
  t.style.height = "auto";
  t.style.height = Math.min(t.scrollHeight, 200) + "px";
}

async function submitPrompt(ev) {
  ev?.preventDefault();
  const input = $("#prompt-input");
  const prompt = input.value.trim();
  if (!prompt) {
    input.focus();
    return;
  }
  clearNotice();
  const placeholder = renderCard({ id: `pending-${Date.now()}`, status: "submitting", prompt });
  const button = $("#submit-button");
  button.disabled = true;
  try {
    const job = await api("POST", "/v1/imagine", { prompt });
    placeholder.remove();
    input.value = "";
    autoGrow();
    renderHints();
    track(job);
  } catch (err) {
    placeholder.remove();
    notifyError(err);
  } finally {
    button.disabled = false;
    updateEmpty();
  }
}

// ---------------------------------------------------------------- job cards
function statusText(job) {
  switch (job.status) {
    case "submitting":
      return "Submitting…";
    case "queued": {
      const pos = job.queue_position != null ? ` · position ${job.queue_position + 1}` : "";
      const eta = job.queue_estimate_s != null ? ` · ~${Math.ceil(job.queue_estimate_s)} s` : "";
      return `Queued${pos}${eta}`;
    }
    case "running": {
      const p = job.progress || {};
      return p.total ? `Generating · step ${p.step}/${p.total}` : "Generating…";
    }
    case "succeeded":
      return `Done${job.timings?.total_s != null ? ` in ${job.timings.total_s.toFixed(1)} s` : ""}`;
    case "blocked":
      return "Blocked by the content policy";
    case "failed":
      return "Failed";
    case "cancelled":
      return "Cancelled";
    default:
      return job.status;
  }
}

function progressValue(job) {
  if (job.status === "succeeded") return 1;
  const p = job.progress || {};
  return p.total ? p.step / p.total : 0;
}

function supported(action) {
  return (state.caps.actions || []).includes(action);
}

function actionButton(job, action, index, label, title) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "action";
  b.textContent = label;
  b.dataset.testid = index ? `action-${action}-${index}` : `action-${action}`;
  const ok = supported(action);
  b.disabled = !ok || job.status !== "succeeded";
  b.title = ok ? title : `${title}: not supported by this server yet`;
  if (!ok) b.classList.add("unsupported");
  b.setAttribute("aria-label", b.title);
  b.addEventListener("click", () => runAction(job, action, index));
  return b;
}

function cardFor(id) {
  return document.querySelector(`[data-testid="job-card"][data-job-id="${CSS.escape(id)}"]`);
}

function renderGrid(job) {
  const grid = document.createElement("div");
  grid.className = "grid";
  const images = job.images || [];
  const slots = Math.max(4, images.length);
  const ratio = job.width && job.height ? `${job.width} / ${job.height}` : "1 / 1";
  for (let i = 0; i < slots; i++) {
    const img = images[i];
    if (img) {
      const cell = document.createElement("a");
      cell.className = "cell";
      cell.href = `#/jobs/${job.id}/${i}`;
      cell.setAttribute("aria-label", `Open image ${i + 1}`);
      const el = document.createElement("img");
      el.src = img.url;
      el.alt = `${job.prompt} (image ${i + 1}, seed ${img.seed})`;
      el.loading = "lazy";
      el.width = img.width;
      el.height = img.height;
      el.dataset.testid = "job-image";
      cell.append(el);
      grid.append(cell);
    } else {
      const cell = document.createElement("div");
      cell.className = `cell placeholder ${job.status}`;
      cell.style.aspectRatio = ratio;
      grid.append(cell);
    }
  }
  return grid;
}

function renderCard(job) {
  let card = cardFor(job.id);
  if (!card) {
    card = document.createElement("article");
    card.className = "card";
    card.dataset.testid = "job-card";
    card.dataset.jobId = job.id;
    $("#feed").prepend(card);
  }
  card.dataset.status = job.status;
  card.replaceChildren();

  const head = document.createElement("header");
  const prompt = document.createElement("p");
  prompt.className = "card-prompt";
  prompt.textContent = job.prompt;
  const status = document.createElement("span");
  status.className = `pill ${job.status}`;
  status.dataset.testid = "job-status";
  status.textContent = statusText(job);
  head.append(prompt, status);
  card.append(head);

  if (!TERMINAL.has(job.status)) {
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = progressValue(job);
    bar.dataset.testid = "job-progress";
    bar.setAttribute("aria-label", statusText(job));
    card.append(bar);
  }

  const unfinishedOrOk = !TERMINAL.has(job.status) || job.status === "succeeded";
  if (unfinishedOrOk) card.append(renderGrid(job));
  if (job.status === "failed" || job.status === "blocked") {
    const msg = document.createElement("p");
    msg.className = "card-error";
    msg.dataset.testid = "job-error";
    msg.textContent = job.error?.message || statusText(job);
    card.append(msg);
  }

  if (!job.id.startsWith("pending-") && unfinishedOrOk) {
    const actions = document.createElement("div");
    actions.className = "actions";
    for (const spec of ACTIONS) {
      const group = document.createElement("div");
      group.className = "action-group";
      for (let i = 1; i <= 4; i++) {
        group.append(actionButton(job, spec.key, i, `${spec.label}${i}`, `${spec.title} ${i}`));
      }
      actions.append(group);
    }
    const tail = document.createElement("div");
    tail.className = "action-group";
    tail.append(actionButton(job, "reroll", 0, "↻", "Reroll (same prompt, new seed)"));
    if (!TERMINAL.has(job.status)) {
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "action";
      cancel.textContent = "Cancel";
      cancel.dataset.testid = "action-cancel";
      cancel.addEventListener("click", () => cancelJob(job));
      tail.append(cancel);
    }
    actions.append(tail);
    card.append(actions);
  }
  updateEmpty();
  return card;
}

function updateEmpty() {
  $("#feed-empty").hidden = $("#feed").children.length > 0;
}

async function runAction(job, action, index) {
  clearNotice();
  try {
    const body = { action };
    if (index) body.index = index - 1;
    const child = await api("POST", `/v1/jobs/${job.id}/actions`, body);
    track(child);
    location.hash = "#/";
  } catch (err) {
    notifyError(err);
  }
}

async function cancelJob(job) {
  try {
    renderCard(await api("POST", `/v1/jobs/${job.id}/cancel`));
  } catch (err) {
    notifyError(err);
  }
}

/** Show a job's card and follow it live until it reaches a terminal state. */
function track(job) {
  state.jobs.set(job.id, job);
  renderCard(job);
  if (TERMINAL.has(job.status) || state.streams.has(job.id)) return;
  const es = new EventSource(`/v1/jobs/${job.id}/events`);
  state.streams.set(job.id, es);
  const onEvent = (ev) => {
    let data = {};
    try {
      data = JSON.parse(ev.data);
    } catch {
      return;
    }
    const prev = state.jobs.get(job.id) || job;
    const merged = ev.type === "snapshot" ? data : { ...prev, status: data.status || prev.status };
    if (data.step != null) merged.progress = { step: data.step, total: data.total };
    state.jobs.set(job.id, merged);
    if (TERMINAL.has(merged.status)) {
      stopStream(job.id);
      refresh(job.id);
    } else {
      renderCard(merged);
    }
  };
  for (const name of ["snapshot", "queued", "progress", "requeued", "completed", "message"]) {
    es.addEventListener(name, onEvent);
  }
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      stopStream(job.id);
      refresh(job.id);
    }
  };
}

function stopStream(id) {
  state.streams.get(id)?.close();
  state.streams.delete(id);
}

function closeStreams() {
  for (const id of [...state.streams.keys()]) stopStream(id);
}

async function refresh(id) {
  try {
    const job = await api("GET", `/v1/jobs/${id}`);
    state.jobs.set(id, job);
    renderCard(job);
    if (!TERMINAL.has(job.status)) setTimeout(() => track(job), 1000);
  } catch (err) {
    notifyError(err);
  }
}

async function loadFeed() {
  try {
    const page = await api("GET", "/v1/me/jobs?limit=8");
    for (const job of page.jobs.slice().reverse()) track(job);
  } catch (err) {
    notifyError(err);
  }
  updateEmpty();
}

// ---------------------------------------------------------------- history gallery
function resetHistory() {
  state.history = { cursor: null, query: $("#history-search").value.trim(), loading: false, done: false,
    seq: state.history.seq + 1 };
  $("#history-grid").replaceChildren();
  $("#history-status").textContent = "";
  loadHistory();
}

async function loadHistory() {
  const h = state.history;
  if (h.loading || h.done) return;
  h.loading = true;
  const seq = h.seq;
  const params = new URLSearchParams({ limit: "24" });
  if (h.cursor) params.set("cursor", h.cursor);
  if (h.query) params.set("q", h.query);
  $("#history-status").textContent = "Loading…";
  try {
    const page = await api("GET", `/v1/me/jobs?${params}`);
    if (seq !== state.history.seq) return;
    for (const job of page.jobs) $("#history-grid").append(historyTile(job));
    h.cursor = page.next_cursor;
    h.done = !page.next_cursor;
    const count = $("#history-grid").children.length;
    $("#history-status").textContent = h.done
      ? count ? `${count} job${count === 1 ? "" : "s"}` : h.query ? "No prompt matches your search." : "No jobs yet."
      : "";
  } catch (err) {
    notifyError(err);
    $("#history-status").textContent = "";
  } finally {
    h.loading = false;
  }
  // Keep filling while the sentinel is still on screen (tall screens, short pages).
  if (!h.done && sentinelVisible()) loadHistory();
}

function sentinelVisible() {
  const r = $("#history-sentinel").getBoundingClientRect();
  return r.top < window.innerHeight + 400 && !$("#history-view").hidden;
}

function historyTile(job) {
  const a = document.createElement("a");
  a.className = `tile ${job.status}`;
  a.href = `#/jobs/${job.id}/0`;
  a.dataset.testid = "history-item";
  a.dataset.jobId = job.id;
  const first = (job.images || [])[0];
  if (first) {
    const img = document.createElement("img");
    img.src = first.url;
    img.alt = job.prompt;
    img.loading = "lazy";
    a.append(img);
  } else {
    const ph = document.createElement("div");
    ph.className = "tile-status";
    ph.textContent = statusText(job);
    a.append(ph);
  }
  const cap = document.createElement("span");
  cap.className = "tile-caption";
  cap.textContent = job.prompt;
  a.append(cap);
  return a;
}

// ---------------------------------------------------------------- detail view
async function openDetail(id, index) {
  let job;
  try {
    job = await api("GET", `/v1/jobs/${id}`);
  } catch (err) {
    notifyError(err);
    location.hash = state.lastView;
    return;
  }
  state.detail = { job, index: Math.min(index, Math.max(0, (job.images || []).length - 1)) };
  drawDetail();
  const dlg = $("#detail");
  if (!dlg.open) dlg.showModal();
}

function drawDetail() {
  const { job, index } = state.detail;
  const img = (job.images || [])[index];
  const main = $("#detail-image");
  if (img) {
    main.src = img.url;
    main.alt = `${job.prompt} (image ${index + 1})`;
    main.hidden = false;
  } else {
    main.removeAttribute("src");
    main.hidden = true;
  }
  $("#detail-prompt").textContent = job.prompt;
  $("#detail-status").textContent = statusText(job);
  $("#detail-seed").textContent = img ? String(img.seed) : job.seed != null ? String(job.seed) : "—";
  $("#detail-size").textContent = img ? `${img.width} × ${img.height}` : "—";
  const params = Object.entries(job.params || {})
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : v}`);
  $("#detail-params").textContent = params.join(" · ") || "defaults";
  const t = job.timings || {};
  $("#detail-timings").textContent = Object.entries(t)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => `${k.replace(/_s$/, "").replace(/_/g, " ")} ${v.toFixed(2)} s`)
    .join(" · ") || "—";
  const dl = $("#download-link");
  if (img) {
    dl.href = img.url;
    dl.setAttribute("download", `pixelmill-${job.id}-${index + 1}.png`);
    dl.removeAttribute("aria-disabled");
  } else {
    dl.removeAttribute("href");
    dl.setAttribute("aria-disabled", "true");
  }
  const thumbs = $("#detail-thumbs");
  thumbs.replaceChildren();
  (job.images || []).forEach((im, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = i === index ? "thumb current" : "thumb";
    b.setAttribute("aria-label", `Image ${i + 1}`);
    const t2 = document.createElement("img");
    t2.src = im.url;
    t2.alt = "";
    b.append(t2);
    b.addEventListener("click", () => {
      history.replaceState(null, "", `#/jobs/${job.id}/${i}`);
      state.detail.index = i;
      drawDetail();
    });
    thumbs.append(b);
  });
  const lin = $("#detail-lineage");
  lin.replaceChildren();
  if (job.parent) {
    const p = document.createElement("p");
    p.append("From ");
    const a = document.createElement("a");
    a.href = `#/jobs/${job.parent.id}/${job.parent.index ?? 0}`;
    a.textContent = `${job.parent.action || "parent"} of image ${(job.parent.index ?? 0) + 1}`;
    a.dataset.testid = "detail-parent";
    p.append(a);
    lin.append(p);
  }
  if ((job.children || []).length) {
    const p = document.createElement("p");
    p.append("Follow-ups: ");
    job.children.forEach((c, i) => {
      const a = document.createElement("a");
      a.href = `#/jobs/${c.id || c}/0`;
      a.textContent = c.action || `#${i + 1}`;
      a.dataset.testid = "detail-child";
      p.append(a, " ");
    });
    lin.append(p);
  }
}

function closeDetail() {
  const dlg = $("#detail");
  if (dlg.open) dlg.close();
}

// ---------------------------------------------------------------- routing
function route() {
  if (!state.me) return;
  const hash = location.hash || "#/";
  const m = hash.match(/^#\/jobs\/([A-Za-z0-9_\-]+)(?:\/(\d+))?/);
  if (m) {
    if ($("#create-view").hidden && $("#history-view").hidden) showView(state.lastView);
    openDetail(m[1], Number(m[2] || 0));
    return;
  }
  closeDetail();
  showView(hash);
}

function showView(hash) {
  const history_ = hash.startsWith("#/history");
  state.lastView = history_ ? "#/history" : "#/";
  $("#create-view").hidden = history_;
  $("#history-view").hidden = !history_;
  $("#nav-create").classList.toggle("active", !history_);
  $("#nav-history").classList.toggle("active", history_);
  $("#nav-create").toggleAttribute("aria-current", !history_);
  $("#nav-history").toggleAttribute("aria-current", history_);
  if (history_ && !$("#history-grid").children.length) resetHistory();
}

// ---------------------------------------------------------------- wiring
function wire() {
  $("#signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearNotice();
    try {
      await signIn({ api_key: $("#api-key-input").value.trim() });
      $("#api-key-input").value = "";
      await enterApp();
    } catch (err) {
      notify("auth", "Sign-in failed", err.message);
    }
  });
  $("#signout-button").addEventListener("click", async () => {
    try {
      await api("DELETE", "/v1/session");
    } catch {
      /* signed out either way */
    }
    $("#feed").replaceChildren();
    $("#history-grid").replaceChildren();
    showSignin();
  });
  $("#notice-close").addEventListener("click", clearNotice);
  $("#prompt-form").addEventListener("submit", submitPrompt);
  const input = $("#prompt-input");
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) submitPrompt(ev);
  });
  input.addEventListener("input", () => {
    autoGrow();
    renderHints();
    syncSettingsFromPrompt();
  });
  $("#settings-toggle").addEventListener("click", () => {
    const panel = $("#settings-panel");
    panel.hidden = !panel.hidden;
    $("#settings-toggle").setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) syncSettingsFromPrompt();
  });
  $("#setting-ar").addEventListener("change", (ev) => {
    input.value = setParam(input.value, "ar", ev.target.value);
  });
  for (const name of ["stylize", "chaos"]) {
    $(`#setting-${name}`).addEventListener("input", (ev) => {
      input.value = setParam(input.value, name, ev.target.value);
      $(`#setting-${name}-value`).textContent = ev.target.value;
    });
  }
  $("#setting-mode").addEventListener("change", (ev) => {
    input.value = setModeFlag(input.value, ev.target.value);
  });
  $("#settings-reset").addEventListener("click", () => {
    let text = input.value;
    for (const name of ["ar", "stylize", "chaos"]) text = setParam(text, name, "");
    input.value = setModeFlag(text, "");
    syncSettingsFromPrompt();
  });
  $("#history-search").addEventListener("input", debounce(resetHistory, 250));
  new IntersectionObserver((entries) => {
    // An entry can be stale: a page that arrived since it was computed may have pushed the
    // sentinel off screen, so check the live layout before loading the next page.
    if (entries.some((e) => e.isIntersecting) && sentinelVisible()) loadHistory();
  }, { rootMargin: "400px" }).observe($("#history-sentinel"));
  $("#detail-close").addEventListener("click", () => closeDetail());
  $("#detail").addEventListener("close", () => {
    if (location.hash.startsWith("#/jobs/")) location.hash = state.lastView;
  });
  $("#detail").addEventListener("click", (ev) => {
    if (ev.target === $("#detail")) closeDetail(); // click on the backdrop
  });
  $("#copy-prompt").addEventListener("click", async () => {
    const text = state.detail.job?.prompt || "";
    try {
      await navigator.clipboard.writeText(text);
      $("#copy-prompt").textContent = "Copied";
    } catch {
      // Clipboard API needs a secure context; fall back to putting it in the prompt bar.
      input.value = text;
      $("#copy-prompt").textContent = "Copied to prompt bar";
    }
    setTimeout(() => ($("#copy-prompt").textContent = "Copy prompt"), 1500);
  });
  document.addEventListener("keydown", (ev) => {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName || "");
    if (ev.key === "/" && !typing && state.me) {
      ev.preventDefault();
      location.hash = "#/";
      input.focus();
    }
    if ($("#detail").open && (ev.key === "ArrowRight" || ev.key === "ArrowLeft")) {
      const n = (state.detail.job?.images || []).length;
      if (!n) return;
      state.detail.index = (state.detail.index + (ev.key === "ArrowRight" ? 1 : n - 1)) % n;
      history.replaceState(null, "", `#/jobs/${state.detail.job.id}/${state.detail.index}`);
      drawDetail();
    }
  });
  window.addEventListener("hashchange", route);
}

function debounce(fn, ms) {
  let t;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

wire();
boot();
