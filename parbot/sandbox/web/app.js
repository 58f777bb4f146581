// The training chat: talks only to this origin (the emulator's /_sim API and the sandbox's /api).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { user: null, since: 0, polling: false, nodes: new Map() };
// Keyed by the role the server grants (the form's "leader" is granted as unit_leader).
const ROLE_NAMES = { officer: "Cán bộ đầu mối", unit_leader: "Lãnh đạo đơn vị", appraiser: "Thành viên thẩm định" };

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok || body.ok === false) throw new Error(body.description || response.statusText);
  return body.result === undefined ? body : body.result;
}

const postJson = (path, data) => api(path, {
  method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) });

// ---- joining -------------------------------------------------------------------------------------------

async function loadUnits() {
  const units = await api("/api/units");
  const select = $("unit");
  const groups = new Map();
  for (const unit of units) {
    if (!groups.has(unit.block)) {
      const group = document.createElement("optgroup");
      group.label = unit.block_name;
      groups.set(unit.block, group);
      select.append(group);
    }
    groups.get(unit.block).append(new Option(`${unit.name} (${unit.code})`, unit.code));
  }
}

$("join-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("join-error").textContent = "";
  const role = document.querySelector("input[name=role]:checked").value;
  const channel = document.querySelector("input[name=channel]:checked").value;
  try {
    const trainee = await postJson("/api/trainees", { name: $("name").value, unit: $("unit").value, role, channel });
    sessionStorage.setItem("trainee", JSON.stringify(trainee));
    enter(trainee);
  } catch (error) {
    $("join-error").textContent = error.message;
  }
});

$("leave").addEventListener("click", () => {
  sessionStorage.removeItem("trainee");
  location.reload();
});

function enter(trainee) {
  state.user = trainee;
  $("join").hidden = true;
  $("chat").hidden = false;
  const channel = trainee.channel === "zalo" ? " · Zalo" : "";
  $("whoami").textContent = `${trainee.name} · ${ROLE_NAMES[trainee.role] || trainee.role} · ${trainee.unit_name || trainee.unit}${channel}`;
  $("text").focus();
  if (trainee.channel === "zalo") {
    $("menu").hidden = true;  // Zalo bots have no command menu: commands are typed
    zaloPoll();
  } else {
    poll();
  }
}

// ---- Zalo: texts only, read from the Zalo emulator's /zalo/_sim API -----------------------------------

const zaloPath = () => `/zalo/_sim/users/${encodeURIComponent(state.user.user_id)}`;

async function zaloPoll() {
  if (state.polling) return;
  state.polling = true;
  while (state.user) {
    try {
      const received = await api(zaloPath());
      for (const message of received.slice(state.since)) zaloRender(message.text, "bot", message.photo_url);
      state.since = received.length;
    } catch (error) {
      // the next round tries again
    }
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
}

function zaloRender(text, sender, photoUrl) {
  const node = document.createElement("div");
  node.className = "msg " + sender;
  const box = document.createElement("div");
  box.className = "bubble";
  if (photoUrl) {
    const img = document.createElement("img");
    img.src = photoUrl;
    img.alt = "Ảnh";
    box.append(img);
  }
  for (const [index, part] of (text || "").split(/(https?:\/\/\S+)/).entries()) {
    if (index % 2) {  // a link the bot sent (evidence upload): opens parbot's page in a new tab
      const link = document.createElement("a");
      link.href = part;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = part;
      box.append(link);
    } else if (part) {
      box.append(document.createTextNode(part));
    }
  }
  node.append(box);
  $("messages").append(node);
  node.scrollIntoView({ block: "end" });
}

async function zaloSend(body, shown) {
  zaloRender(shown, "me");
  await postJson(zaloPath(), { display_name: state.user.name, ...body });
}

function base64Of(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1]);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

// ---- the chat ------------------------------------------------------------------------------------------

async function poll() {
  if (state.polling) return;
  state.polling = true;
  while (state.user) {
    try {
      const result = await api(`/_sim/events?user=${state.user.user_id}&since=${state.since}&timeout=25`);
      for (const event of result.events) apply(event);
      state.since = result.version;
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

function apply(event) {
  if (event.type === "message" || event.type === "edit") render(event.message);
  else if (event.type === "delete") state.nodes.get(event.message_id)?.remove();
  else if (event.type === "callback_answer" && event.text) toast(event.text);
}

function render(message) {
  let node = state.nodes.get(message.message_id);
  const fresh = !node;
  if (fresh) {
    node = document.createElement("div");
    node.className = "msg " + (message.sender === "bot" ? "bot" : "me");
    node.dataset.messageId = message.message_id;
    state.nodes.set(message.message_id, node);
  }
  node.replaceChildren(bubble(message));
  if (fresh) {
    $("messages").append(node);
    node.scrollIntoView({ block: "end" });
  }
}

function bubble(message) {
  const box = document.createElement("div");
  box.className = "bubble";
  if (message.photo) {
    const img = document.createElement("img");
    img.src = `/_sim/files/${encodeURIComponent(message.photo.file_id)}`;
    img.alt = "Biểu đồ";
    img.addEventListener("click", () => window.open(img.src, "_blank"));
    img.addEventListener("load", () => img.scrollIntoView({ block: "end" }));
    box.append(img);
  }
  if (message.document) {
    const doc = document.createElement("div");
    doc.className = "doc";
    doc.textContent = `📄 ${message.document.file_name || "tệp"}`;
    box.append(doc);
  }
  const text = message.text ?? message.caption;
  if (text) box.append(document.createTextNode(text));
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = (message.edited ? "đã sửa · " : "") + new Date(message.date * 1000).toLocaleTimeString("vi-VN",
    { hour: "2-digit", minute: "2-digit" });
  box.append(meta);
  if (message.buttons && message.buttons.length) box.append(keyboard(message));
  return box;
}

function keyboard(message) {
  const grid = document.createElement("div");
  grid.className = "keyboard";
  for (const row of message.buttons) {
    const line = document.createElement("div");
    line.className = "krow";
    for (const button of row) {
      const element = document.createElement("button");
      element.type = "button";
      element.textContent = button.text;
      if (button.url) {
        element.addEventListener("click", () => window.open(button.url, "_blank", "noopener"));
      } else {
        element.addEventListener("click", () => press(message.message_id, button.callback_data, element));
      }
      line.append(element);
    }
    grid.append(line);
  }
  return grid;
}

async function press(messageId, data, element) {
  element.disabled = true;
  try {
    await postJson(`/_sim/users/${state.user.user_id}/press`, { message_id: messageId, callback_data: data });
  } catch (error) {
    toast(error.message);
  } finally {
    element.disabled = false;
  }
}

function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 3500);
}

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  try {
    if (state.user.channel === "zalo") return await zaloSend({ text }, text);
    await postJson(`/_sim/users/${state.user.user_id}/text`, { text });
  } catch (error) {
    toast(error.message);
  }
});

$("file").addEventListener("change", async () => {
  const file = $("file").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("document", file, file.name);
  try {
    if (state.user.channel === "zalo") {
      if (!file.type.startsWith("image/")) throw new Error("Zalo chỉ gửi được ảnh; tệp khác gửi qua liên kết bot gửi.");
      await zaloSend({ image_base64: await base64Of(file) }, `🖼 ${file.name}`);
    } else {
      await api(`/_sim/users/${state.user.user_id}/document`, { method: "POST", body: form });
    }
  } catch (error) {
    toast(error.message);
  }
  $("file").value = "";
});

$("menu").addEventListener("click", async () => {
  const panel = $("commands");
  if (!panel.hidden) { panel.hidden = true; return; }
  const chat = await api(`/_sim/users/${state.user.user_id}/chat`);
  panel.replaceChildren(...chat.commands.map((command) => {
    const item = document.createElement("button");
    item.type = "button";
    const name = document.createElement("b");
    name.textContent = "/" + command.command;
    item.append(name, document.createTextNode(command.description));
    item.addEventListener("click", async () => {
      panel.hidden = true;
      await postJson(`/_sim/users/${state.user.user_id}/text`, { text: "/" + command.command });
    });
    return item;
  }));
  panel.hidden = false;
});

const saved = sessionStorage.getItem("trainee");
loadUnits().then(() => { if (saved) enter(JSON.parse(saved)); });
