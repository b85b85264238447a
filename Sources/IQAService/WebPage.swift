/// The page served at `/`: drop or pick an image, type its prompt, see the scores on the model's range, the
/// cross-modality attention overlay and the last results. Plain HTML, CSS and JavaScript embedded in the binary
/// (no CDN, no network), laid out for a phone-sized window as well as a desktop. It calls `GET /v1/model` once and
/// `POST /v1/score?attention=1` (multipart) per image; an API key, when the server wants one, is kept in the
/// browser's local storage. Element ids (`file`, `prompt`, `score`, `scores`, `overlay`, `history`, `status`) are
/// what the headless-browser test drives.
enum WebPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>IP-IQA</title>
<style>
  :root { --fg: #1d2230; --muted: #667; --accent: #2f6fde; --bg: #f6f7fb; --card: #fff; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
  header { padding: 14px 18px; background: var(--card); border-bottom: 1px solid #dde; }
  header h1 { margin: 0; font-size: 20px; }
  header p { margin: 2px 0 0; color: var(--muted); font-size: 14px; }
  main { max-width: 980px; margin: 0 auto; padding: 16px; display: grid; gap: 16px; grid-template-columns: 1fr 1fr; }
  @media (max-width: 720px) { main { grid-template-columns: 1fr; padding: 10px; } }
  section { background: var(--card); border: 1px solid #dde; border-radius: 10px; padding: 14px; min-width: 0; }
  h2 { font-size: 16px; margin: 0 0 10px; }
  #drop { position: relative; border: 2px dashed #aab; border-radius: 10px; padding: 18px; text-align: center; color: var(--muted); cursor: pointer; }
  #drop.over { border-color: var(--accent); background: #eef3ff; }
  #preview { max-width: 100%; max-height: 260px; display: none; margin: 10px auto 0; border-radius: 6px; }
  label { display: block; margin: 12px 0 4px; font-weight: 600; font-size: 14px; }
  textarea, input[type=password] { width: 100%; font: inherit; padding: 8px; border: 1px solid #bbc; border-radius: 6px; }
  button { margin-top: 12px; width: 100%; padding: 10px; font: inherit; font-weight: 600; color: #fff; background: var(--accent); border: 0; border-radius: 6px; cursor: pointer; }
  button:disabled { background: #99a; cursor: default; }
  .score { margin: 8px 0 12px; }
  .score .row { display: flex; justify-content: space-between; font-size: 15px; }
  .score .value { font-weight: 700; font-variant-numeric: tabular-nums; }
  .bar { height: 10px; background: #e6e8f0; border-radius: 5px; overflow: hidden; }
  .bar > div { height: 100%; background: var(--accent); }
  #overlay { max-width: 100%; border-radius: 6px; display: none; margin-top: 8px; }
  #status { color: var(--muted); font-size: 14px; min-height: 1.4em; margin-top: 8px; }
  #status.error { color: #b3261e; }
  #history { list-style: none; margin: 0; padding: 0; font-size: 14px; }
  #history li { padding: 6px 0; border-top: 1px solid #eef; overflow-wrap: anywhere; }
  #keybox { display: none; }
  .picker { position: absolute; width: 1px; height: 1px; opacity: 0; overflow: hidden; }
  .muted { color: var(--muted); font-size: 13px; }
</style>
</head>
<body>
<header>
  <h1>IP-IQA</h1>
  <p id="model">loading the model…</p>
</header>
<main>
  <section>
    <h2>Image and prompt</h2>
    <div id="drop" tabindex="0">Drop an image here or tap to choose one<br><span class="muted">JPEG, PNG or WebP</span>
      <input id="file" class="picker" type="file" accept="image/jpeg,image/png,image/webp">
      <img id="preview" alt="the chosen image">
    </div>
    <div id="promptbox">
      <label for="prompt">Prompt</label>
      <textarea id="prompt" rows="3" placeholder="the prompt the image was generated from"></textarea>
    </div>
    <div id="keybox">
      <label for="key">API key</label>
      <input id="key" type="password" autocomplete="off">
    </div>
    <button id="score" disabled>Score</button>
    <div id="status" role="status"></div>
  </section>
  <section>
    <h2>Scores</h2>
    <div id="scores"><p class="muted">No image scored yet.</p></div>
    <img id="overlay" alt="where the prompt looked (cross-modality attention)">
  </section>
  <section style="grid-column: 1 / -1">
    <h2>Last results</h2>
    <ul id="history"></ul>
  </section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let model = null, chosen = null;
const history = [];

function headers() {
  const key = $("key").value || localStorage.getItem("ipiqa-key") || "";
  return key ? { "Authorization": "Bearer " + key } : {};
}

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function loadModel() {
  const response = await fetch("/v1/model", { headers: headers() });
  if (response.status === 401) { $("keybox").style.display = "block"; setStatus("This server needs an API key.", true); return; }
  const body = await response.json();
  model = body.model;
  const range = model.score_range ? ` · scores in ${model.score_range[0]}…${model.score_range[1]}` : "";
  $("model").textContent = `${model.name} · ${model.outputs.join(", ")} · ${model.resolution} px` + (model.fusion ? ` · ${model.fusion}` : "") + range;
  if (!model.uses_prompt) $("promptbox").style.display = "none";
  updateButton();
}

function choose(file) {
  if (!file) return;
  chosen = file;
  const preview = $("preview");
  preview.src = URL.createObjectURL(file);
  preview.style.display = "block";
  updateButton();
}

function updateButton() { $("score").disabled = !(model && chosen); }

function showScores(result) {
  const range = model.score_range || null;
  const box = $("scores");
  box.textContent = "";
  for (const name of model.outputs) {
    const value = result[name];
    const div = document.createElement("div");
    div.className = "score";
    div.dataset.name = name;
    div.dataset.value = String(value);
    const row = document.createElement("div");
    row.className = "row";
    row.innerHTML = `<span></span><span class="value"></span>`;
    row.children[0].textContent = name + (range ? ` (${range[0]}…${range[1]})` : "");
    row.children[1].textContent = Number(value).toFixed(3);
    div.appendChild(row);
    if (range) {
      const bar = document.createElement("div");
      bar.className = "bar";
      const fill = document.createElement("div");
      const fraction = Math.max(0, Math.min(1, (value - range[0]) / (range[1] - range[0])));
      fill.style.width = (100 * fraction).toFixed(1) + "%";
      bar.appendChild(fill);
      div.appendChild(bar);
    }
    box.appendChild(div);
  }
  const overlay = $("overlay");
  if (result.attention_png) { overlay.src = "data:image/png;base64," + result.attention_png; overlay.style.display = "block"; }
  else { overlay.removeAttribute("src"); overlay.style.display = "none"; }
}

function remember(name, prompt, result) {
  history.unshift({ name, prompt, values: model.outputs.map((o) => `${o} ${Number(result[o]).toFixed(3)}`).join(", ") });
  history.length = Math.min(history.length, 10);
  const list = $("history");
  list.textContent = "";
  for (const h of history) {
    const li = document.createElement("li");
    li.textContent = `${h.name}${h.prompt ? " — “" + h.prompt + "”" : ""}: ${h.values}`;
    list.appendChild(li);
  }
}

async function score() {
  if (!chosen || !model) return;
  const form = new FormData();
  form.append("image", chosen, chosen.name);
  const prompt = $("prompt").value;
  if (model.uses_prompt) form.append("prompt", prompt);
  if ($("key").value) localStorage.setItem("ipiqa-key", $("key").value);
  $("score").disabled = true;
  setStatus("scoring…", false);
  try {
    const response = await fetch(model.uses_prompt ? "/v1/score?attention=1" : "/v1/score", { method: "POST", body: form, headers: headers() });
    const body = await response.json();
    if (!response.ok) {
      if (response.status === 401) $("keybox").style.display = "block";
      setStatus(body.error ? body.error.message : "HTTP " + response.status, true);
      return;
    }
    showScores(body);
    remember(chosen.name, model.uses_prompt ? prompt : "", body);
    setStatus(`scored in ${Math.round(body.latency_ms)} ms`, false);
  } catch (e) {
    setStatus("request failed: " + e, true);
  } finally {
    updateButton();
  }
}

const drop = $("drop");
drop.addEventListener("click", (e) => { if (e.target.id !== "file") $("file").click(); });
drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") $("file").click(); });
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); choose(e.dataTransfer.files[0]); });
$("file").addEventListener("change", (e) => choose(e.target.files[0]));
$("score").addEventListener("click", score);
$("key").addEventListener("change", () => { localStorage.setItem("ipiqa-key", $("key").value); loadModel(); });
loadModel().catch((e) => setStatus("cannot reach the server: " + e, true));
</script>
</body>
</html>
"""#
}
