// modemu web console: polls the JSON routes of this server and follows /api/events (SSE).
// Plain JS, no libraries; every request goes to this page's own origin.
"use strict";
const $ = (s) => document.querySelector(s);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
const MAX_LINES = 400, MAX_EVENTS = 300;
const modems = {};        // name -> {el, transcript}
const early = {};         // name -> AT events that came before the modem's card existed
let refreshTimer = null;

async function api(method, path, body) {
  const opts = {method, headers: {}};
  if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  const resp = await fetch(path, opts);
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
  if (!resp.ok) {
    const detail = data && data.detail !== undefined ? data.detail : data;
    throw new Error(`${resp.status} ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
  }
  return data;
}

function show(ok, msg) { const r = $("#result"); r.className = ok ? "" : "err"; r.textContent = msg; }

async function act(fn) {
  try { show(true, JSON.stringify(await fn())); } catch (e) { show(false, e.message); }
  scheduleRefresh();
}

function modemCard(m) {
  let card = modems[m.name];
  if (!card) {
    const el = document.createElement("div");
    el.className = "modem"; el.id = `modem-${m.name}`; el.dataset.name = m.name;
    el.innerHTML = `<div><b>${esc(m.name)}</b> <span class="muted">${esc(m.module)}</span>
      <span class="link">${esc(m.link || m.pty || "")} ${esc(m.tcp || "")}</span>
      <button class="pwr">power</button></div><div class="state"></div><pre class="transcript"></pre>`;
    el.querySelector(".pwr").addEventListener("click", () =>
      act(() => api("POST", `/api/modems/${encodeURIComponent(m.name)}/power`, {on: !modems[m.name].powered})));
    $("#modems").appendChild(el);
    card = modems[m.name] = {el, transcript: el.querySelector(".transcript"), powered: m.powered};
    for (const ev of early[m.name] || []) addLine(ev);
    delete early[m.name];
  }
  return card;
}

function renderModem(m, energy) {
  const card = modemCard(m);
  card.powered = m.powered;
  const reg = {0: "not registered", 1: "home", 2: "searching", 3: "denied", 5: "roaming"}[m.stat] || `stat ${m.stat}`;
  const parts = [
    `<span class="badge ${m.powered ? "on" : "off"}">${m.powered ? "on" : "off"}</span>`,
    `<span><b>reg</b> <span class="reg">${esc(reg)}</span></span>`,
    `<span><b>RRC</b> ${m.rrc ? "connected" : "idle"}</span>`,
    `<span><b>PSM</b> ${m.psm ? "in PSM" : "no"}</span>`,
    `<span><b>eDRX</b> ${energy && energy.edrx ? esc(JSON.stringify(energy.edrx)) : "off"}</span>`,
    `<span><b>signal</b> ${m.rssi === undefined || m.rssi === null ? "–" : esc(m.rssi)}</span>`,
    `<span><b>energy</b> ${energy ? energy.charge_uah.toFixed(1) + " µAh" : "–"}</span>`,
    `<span><b>rx/tx</b> ${m.rx_bytes}/${m.tx_bytes} B</span>`,
  ];
  card.el.querySelector(".state").innerHTML = parts.join(" ");
}

function addLine(ev) {
  const card = modems[ev.modem];
  if (!card) {
    const q = early[ev.modem] = early[ev.modem] || [];
    q.push(ev);
    if (q.length > MAX_LINES) q.shift();
    return;
  }
  const t = card.transcript;
  const row = document.createElement("div");
  const ctl = ev.control || ev.payload !== undefined || ev.prompt || ev.data;
  row.className = `${ev.dir} ${ev.urc ? "urc" : ""} ${ctl ? "ctl" : ""}`;
  row.textContent = `${ev.dir === "in" ? "→" : "←"} ${ev.urc ? "[URC] " : ""}${ev.line}`;
  const atBottom = t.scrollTop + t.clientHeight >= t.scrollHeight - 4;
  t.appendChild(row);
  while (t.childNodes.length > MAX_LINES) t.removeChild(t.firstChild);
  if (atBottom) t.scrollTop = t.scrollHeight;
}

function table(headers, rows, empty) {
  if (!rows.length) return `<div class=muted>${esc(empty)}</div>`;
  return `<table><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>` +
    rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("") + "</table>";
}

function renderPlatforms(pf) {
  const box = $("#platforms");
  const html = [];
  const ctDevs = [], tpDevs = [];
  for (const [platform, devices] of Object.entries(pf)) {
    html.push(`<h3>${esc(platform)}</h3>`);
    for (const d of devices) {
      (platform === "ctwing" ? ctDevs : tpDevs).push(d.id);
      const ups = d.uplinks.slice(-8).map((u) => platform === "ctwing"
        ? [u.ts.toFixed ? new Date(u.ts * 1000).toISOString().slice(11, 19) : u.ts, u.protocol, u.text, u.hex]
        : [new Date(u.ts * (u.ts > 1e11 ? 1 : 1000)).toISOString().slice(11, 19), "telemetry", JSON.stringify(u.data), ""]);
      const downs = d.downlinks.slice(-8).map((c) => [c.kind, c.id, c.status, c.text || c.method || "", c.reason || (c.result !== undefined && c.result !== null ? JSON.stringify(c.result) : "")]);
      html.push(`<div class="device" data-platform="${esc(platform)}" data-device="${esc(d.id)}">
        <b>${esc(d.id)}</b> ${d.imei ? `<span class=muted>IMEI ${esc(d.imei)}</span>` : ""}
        <span class="badge ${d.online ? "on" : "off"}">${d.online ? "online" : "offline"}</span>
        <div class="uplinks">${table(["time", "via", "text", "hex"], ups, "no uplinks")}</div>
        <div class="downlinks">${table(["kind", "id", "status", "payload", "reason / result"], downs, "no downlinks / RPCs")}</div></div>`);
    }
  }
  box.innerHTML = html.join("");
  fillSelect($("#ctwing-device"), ctDevs);
  for (const s of document.querySelectorAll(".tp-device")) fillSelect(s, tpDevs);
}

function fillSelect(sel, values) {
  const cur = sel.value;
  const want = values.join("\n");
  if (sel.dataset.values === want) return;
  sel.dataset.values = want;
  sel.innerHTML = values.map((v) => `<option>${esc(v)}</option>`).join("");
  if (values.includes(cur)) sel.value = cur;
}

async function refresh() {
  refreshTimer = null;
  try {
    const [list, pf, clock, routes] = await Promise.all([api("GET", "/api/modems"), api("GET", "/api/platforms"),
      api("GET", "/api/clock"), api("GET", "/api/network/routes")]);
    for (const m of list) {
      let energy = null;
      try { energy = await api("GET", `/api/modems/${encodeURIComponent(m.name)}/energy`); } catch (e) { /* no meter */ }
      renderModem(m, energy);
    }
    fillSelect($("#sms-modem"), list.map((m) => m.name));
    renderPlatforms(pf);
    $("#clock").textContent = `clock: ${new Date(clock.now * 1000).toISOString().replace("T", " ").slice(0, 19)}`;
    fillSelect($("#fault-route"), routes.routes.map((r) => r.port === null ? r.host : `${r.host}:${r.port}`));
  } catch (e) { show(false, `refresh: ${e.message}`); }
}

function scheduleRefresh() { if (!refreshTimer) refreshTimer = setTimeout(refresh, 150); }

function logEvent(ev) {
  const li = document.createElement("li");
  const who = ev.modem || ev.device || ev.platform || "";
  const rest = Object.entries(ev).filter(([k]) => !["type", "ts", "seq", "modem", "device", "platform"].includes(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
  li.textContent = `${ev.type} ${ev.platform ? ev.platform + " " : ""}${who} ${rest}`;
  const list = $("#events");
  list.appendChild(li);
  while (list.childNodes.length > MAX_EVENTS) list.removeChild(list.firstChild);
  list.scrollTop = list.scrollHeight;
}

function follow() {
  const src = new EventSource("/api/events?backfill=1");
  src.onopen = () => { const s = $("#stream-state"); s.textContent = "events: live"; s.className = "on"; };
  src.onerror = () => { const s = $("#stream-state"); s.textContent = "events: reconnecting"; s.className = "off"; };
  src.onmessage = (msg) => {
    const ev = JSON.parse(msg.data);
    if (ev.type === "at") { addLine(ev); if (!ev.urc && ev.dir === "out") scheduleRefresh(); }
    else { logEvent(ev); scheduleRefresh(); }
  };
}

function parseJSON(text, what) {
  try { return JSON.parse(text); } catch (e) { throw new Error(`${what}: not JSON`); }
}

$("#advance-form").addEventListener("submit", (e) => { e.preventDefault();
  act(() => api("POST", "/api/clock/advance", {seconds: Number($("#advance-seconds").value)})); });
$("#ctwing-form").addEventListener("submit", (e) => { e.preventDefault();
  act(() => api("POST", `/api/ctwing/devices/${encodeURIComponent($("#ctwing-device").value)}/commands`, {payload: $("#ctwing-payload").value})); });
$("#rpc-form").addEventListener("submit", (e) => { e.preventDefault();
  act(async () => { const [svc, dev] = $("#tp-device").value.split("/");
    const params = $("#rpc-params").value ? parseJSON($("#rpc-params").value, "params") : undefined;
    return api("POST", `/api/thingplug/${encodeURIComponent(svc)}/${encodeURIComponent(dev)}/rpc`, {method: $("#rpc-method").value, params}); }); });
$("#attr-form").addEventListener("submit", (e) => { e.preventDefault();
  act(async () => { const [svc, dev] = $("#tp-device2").value.split("/");
    return api("PATCH", `/api/thingplug/${encodeURIComponent(svc)}/${encodeURIComponent(dev)}/attributes`, parseJSON($("#attr-json").value, "attributes")); }); });
$("#sms-form").addEventListener("submit", (e) => { e.preventDefault();
  act(() => api("POST", `/api/modems/${encodeURIComponent($("#sms-modem").value)}/sms`, {from: $("#sms-from").value, text: $("#sms-text").value})); });
$("#fault-form").addEventListener("submit", (e) => { e.preventDefault();
  act(() => { const route = $("#fault-route").value; const i = route.lastIndexOf(":");
    const [host, port] = i > 0 && /^\d+$/.test(route.slice(i + 1)) ? [route.slice(0, i), Number(route.slice(i + 1))] : [route, null];
    const count = $("#fault-count").value;
    return api("POST", "/api/network/faults", {host, port, kind: $("#fault-kind").value, count: count === "" ? null : Number(count)}); }); });
$("#fault-clear").addEventListener("click", () => act(() => api("DELETE", "/api/network/faults")));

refresh();
follow();
setInterval(refresh, 5000);
