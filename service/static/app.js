// The map page: the network from /v1/network.geojson drawn in SVG with an equirectangular
// projection (no tiles, no external assets), a route form posting to /v1/routes, and the
// routes drawn over the network and listed with their totals and steps.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const ROUTE_COLOURS = ["#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"];
const $ = (id) => document.getElementById(id);

const state = { kx: 1, view: null, full: null, names: new Map(), routes: [] };

// Longitude is scaled by cos(mid latitude) so the region keeps its shape; y grows southwards.
function project([lon, lat]) {
  return [lon * state.kx, -lat];
}

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

function setView(view) {
  state.view = view;
  $("map").setAttribute("viewBox", view.join(" "));
  // Node markers keep a constant size on screen whatever the zoom.
  const pixels = $("map").clientWidth || 800;
  const r = (4 * view[2]) / pixels;
  for (const circle of document.querySelectorAll("circle.node")) circle.setAttribute("r", r);
}

async function loadNetwork() {
  const response = await fetch("/v1/network.geojson");
  if (!response.ok) throw new Error(`network: HTTP ${response.status}`);
  const data = await response.json();
  const points = data.features.filter((f) => f.geometry.type === "Point");
  const lats = points.map((f) => f.geometry.coordinates[1]);
  const mid = (Math.min(...lats) + Math.max(...lats)) / 2;
  state.kx = Math.cos((mid * Math.PI) / 180);

  const links = $("layer-links");
  for (const f of data.features) {
    if (f.geometry.type !== "LineString") continue;
    const [a, b] = f.geometry.coordinates.map(project);
    const p = f.properties;
    const line = el("line", {
      x1: a[0], y1: a[1], x2: b[0], y2: b[1],
      class: `link ${p.mode}${p.crossing ? " crossing" : ""}`,
    }, links);
    el("title", {}, line).textContent =
      `${p.from} – ${p.to} (${p.mode}, ${Math.round(p.distance_km)} km)` +
      (p.crossing ? `, crossing ${p.crossing}` : "");
  }
  const nodes = $("layer-nodes");
  const xs = [];
  const ys = [];
  for (const f of points) {
    const [x, y] = project(f.geometry.coordinates);
    xs.push(x);
    ys.push(y);
    const p = f.properties;
    state.names.set(p.id, p.name);
    const circle = el("circle", { cx: x, cy: y, r: 0.1, class: `node ${p.kind}` }, nodes);
    circle.dataset.id = p.id;
    el("title", {}, circle).textContent = `${p.name} (${p.id}, ${p.country}, ${p.kind})`;
    circle.addEventListener("click", () => pickPlace(p.name));
  }
  const pad = 1;
  const minX = Math.min(...xs) - pad;
  const minY = Math.min(...ys) - pad;
  state.full = [minX, minY, Math.max(...xs) - minX + pad, Math.max(...ys) - minY + pad];
  setView(state.full);
  const links_n = data.features.length - points.length;
  $("network-stats").textContent = `${points.length} places, ${links_n} links`;
}

// A click on a node fills "From", then "To".
function pickPlace(name) {
  const target = $("origin").value ? $("destination") : $("origin");
  target.value = name;
}

async function loadPlaces() {
  const response = await fetch("/v1/places");
  if (!response.ok) return;
  const data = await response.json();
  const list = $("places");
  for (const place of data.places) {
    const option = document.createElement("option");
    option.value = place.name;
    option.label = `${place.id} · ${place.country}`;
    list.appendChild(option);
  }
}

function enableZoom() {
  const svg = $("map");
  svg.addEventListener("wheel", (event) => {
    event.preventDefault();
    const [x, y, w, h] = state.view;
    const box = svg.getBoundingClientRect();
    const fx = (event.clientX - box.left) / box.width;
    const fy = (event.clientY - box.top) / box.height;
    const k = event.deltaY > 0 ? 1.2 : 1 / 1.2;
    const nw = w * k;
    const nh = h * k;
    setView([x + (w - nw) * fx, y + (h - nh) * fy, nw, nh]);
  }, { passive: false });
  let drag = null;
  svg.addEventListener("pointerdown", (event) => {
    drag = { x: event.clientX, y: event.clientY, view: state.view.slice() };
    svg.classList.add("dragging");
  });
  window.addEventListener("pointerup", () => {
    drag = null;
    svg.classList.remove("dragging");
  });
  svg.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const box = svg.getBoundingClientRect();
    const [x, y, w, h] = drag.view;
    const dx = ((event.clientX - drag.x) / box.width) * w;
    const dy = ((event.clientY - drag.y) / box.height) * h;
    setView([x - dx, y - dy, w, h]);
  });
  svg.addEventListener("dblclick", () => setView(state.full));
}

function number(id) {
  const value = $(id).value;
  return value === "" ? null : Number(value);
}

function requestBody() {
  const kind = document.querySelector("input[name=cargo-kind]:checked").value;
  const cargo = kind === "teu"
    ? { teu: number("teu") }
    : {
      pieces: number("pieces"), length_m: number("length_m"), width_m: number("width_m"),
      height_m: number("height_m"), weight_t: number("weight_t"),
    };
  const body = {
    origin: $("origin").value.trim(),
    destination: $("destination").value.trim(),
    cargo,
    objective: $("objective").value,
    alternatives: number("alternatives") ?? 0,
  };
  if ($("ready").value) body.ready = $("ready").value;
  return body;
}

function showStatus(message, isError = false) {
  const status = $("status");
  status.className = isError ? "error" : "";
  status.textContent = message;
  return status;
}

// A 422 names the field; an unknown place comes with suggestions the user can click.
function showErrors(detail) {
  const status = showStatus("", true);
  const items = Array.isArray(detail) ? detail : [{ msg: String(detail), loc: [] }];
  for (const item of items) {
    const line = document.createElement("div");
    const field = (item.loc || []).filter((part) => part !== "body").join(".");
    line.textContent = field ? `${field}: ${item.msg}` : item.msg;
    status.appendChild(line);
    const target = field === "origin" || field === "destination" ? $(field) : null;
    for (const name of item.suggestions || []) {
      const chip = document.createElement("span");
      chip.className = "suggestion";
      chip.textContent = name;
      if (target) chip.addEventListener("click", () => { target.value = name; });
      line.appendChild(document.createTextNode(" "));
      line.appendChild(chip);
    }
  }
}

function fmt(value, digits = 0) {
  return Number(value).toLocaleString("en", { maximumFractionDigits: digits });
}

function stepWhere(step) {
  const name = (id) => state.names.get(id) || id;
  if (step.kind === "move") return `${name(step.from)} → ${name(step.to)}`;
  if (step.kind === "border") return step.crossing;
  return name(step.node);
}

function stepVia(step) {
  if (step.kind === "move") return `${step.mode} ${step.service || step.link}`;
  return step.note || "";
}

function drawRoutes(routes) {
  const layer = $("layer-routes");
  layer.replaceChildren();
  const list = $("routes");
  list.replaceChildren();
  // Draw the best route last so it lies on top.
  routes.slice().reverse().forEach((route) => {
    const rank = routes.indexOf(route);
    const points = route.geometry.coordinates.map(project);
    const d = points.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(4)} ${y.toFixed(4)}`).join(" ");
    const path = el("path", {
      d, class: "route", stroke: ROUTE_COLOURS[rank % ROUTE_COLOURS.length],
    }, layer);
    path.dataset.rank = String(rank);
    el("title", {}, path).textContent = `route ${rank + 1}: $${fmt(route.totals.cost_usd)}, ` +
      `${fmt(route.totals.transit_days, 1)} days`;
    path.addEventListener("click", () => select(rank));
  });
  routes.forEach((route, rank) => {
    const t = route.totals;
    const item = document.createElement("li");
    item.dataset.rank = String(rank);
    item.style.borderLeftColor = ROUTE_COLOURS[rank % ROUTE_COLOURS.length];
    const head = document.createElement("div");
    head.innerHTML = "<strong></strong>";
    head.firstChild.textContent = rank === 0 ? "Best route" : `Alternative ${rank}`;
    item.appendChild(head);
    const totals = document.createElement("div");
    totals.className = "totals";
    totals.textContent =
      `$${fmt(t.cost_usd)} · ${fmt(t.transit_days, 1)} days · ${fmt(t.distance_km)} km · ` +
      `${fmt(t.co2e_kg / 1000, 2)} t CO2e · ${route.countries.join("–")} · ` +
      `${route.modes.join(", ")} · crossings: ${route.crossings.join(", ") || "none"} · ` +
      `arrive ${route.arrive.slice(0, 16).replace("T", " ")} UTC`;
    item.appendChild(totals);
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = `${route.steps.length} steps`;
    details.appendChild(summary);
    const table = document.createElement("table");
    table.innerHTML = "<thead><tr><th>start UTC</th><th>step</th><th>where</th>" +
      "<th>h</th><th>USD</th><th>kg CO2e</th></tr></thead>";
    const tbody = document.createElement("tbody");
    for (const step of route.steps) {
      const row = document.createElement("tr");
      const cells = [
        [step.start.slice(5, 16).replace("T", " "), ""], [step.kind, ""], [stepWhere(step), ""],
        [fmt(step.hours, 1), "num"], [fmt(step.cost_usd), "num"], [fmt(step.co2e_kg), "num"],
      ];
      for (const [text, cls] of cells) {
        const cell = document.createElement("td");
        cell.textContent = text;
        if (cls) cell.className = cls;
        row.appendChild(cell);
      }
      const via = stepVia(step);
      if (via) {
        const small = document.createElement("div");
        small.className = "via";
        small.textContent = via;
        row.children[2].appendChild(small);
      }
      tbody.appendChild(row);
    }
    table.appendChild(tbody);
    details.appendChild(table);
    item.appendChild(details);
    item.addEventListener("click", () => select(rank));
    list.appendChild(item);
  });
  state.routes = routes;
  if (routes.length) select(0);
}

function select(rank) {
  for (const path of document.querySelectorAll("path.route")) {
    path.classList.toggle("selected", path.dataset.rank === String(rank));
  }
  for (const item of document.querySelectorAll("#routes li")) {
    item.classList.toggle("selected", item.dataset.rank === String(rank));
  }
}

async function submitRoute(event) {
  event.preventDefault();
  const headers = { "Content-Type": "application/json" };
  const key = $("api-key").value;
  if (key) headers["X-API-Key"] = key;
  $("submit").disabled = true;
  showStatus("searching…");
  try {
    const response = await fetch("/v1/routes", {
      method: "POST", headers, body: JSON.stringify(requestBody()),
    });
    const data = await response.json().catch(() => ({ detail: `HTTP ${response.status}` }));
    if (!response.ok) {
      drawRoutes([]);
      showErrors(data.detail);
      return;
    }
    drawRoutes(data.routes);
    if (data.infeasible_reason) showStatus(data.infeasible_reason, true);
    else showStatus(`${data.routes.length} route(s)`);
  } catch (error) {
    showStatus(`request failed: ${error.message}`, true);
  } finally {
    $("submit").disabled = false;
  }
}

function init() {
  $("ready").value = new Date().toISOString().slice(0, 10);
  for (const radio of document.querySelectorAll("input[name=cargo-kind]")) {
    radio.addEventListener("change", () => {
      const pieces = radio.value === "pieces" && radio.checked;
      $("cargo-pieces").hidden = !pieces;
      $("cargo-teu").hidden = pieces;
    });
  }
  $("route-form").addEventListener("submit", submitRoute);
  enableZoom();
  window.addEventListener("resize", () => state.view && setView(state.view));
  loadNetwork()
    .then(() => document.body.dataset.ready = "true")
    .catch((error) => showStatus(`could not load the network: ${error.message}`, true));
  loadPlaces();
}

init();
