// The map page. Leaflet (vendored) draws, with no tiles and nothing fetched from elsewhere:
// Natural Earth countries (/static/countries.geojson), the network (/v1/network), and the routes
// a query to /v1/routes answers, each leg in its mode's colour. The best (selected) route is solid
// on a white casing; alternatives are dashed. Crossings on the selected route are diamonds that
// carry their dwell and fees. The side panel lists each route leg by leg.
"use strict";

const MODE_COLOURS = { rail: "#2f63a8", road: "#c0601a", sea: "#13917f", ferry: "#c2185b" };
const $ = (id) => document.getElementById(id);

const state = {
  map: null,
  nodes: new Map(),
  crossings: new Map(),
  routes: [],
  selected: 0,
  layers: {},
  full: null,
  countryLabels: [],
  cityLabels: [],
};

function fmt(value, digits = 0) {
  return Number(value).toLocaleString("en", {
    minimumFractionDigits: digits, maximumFractionDigits: digits,
  });
}

function text(tag, content, className) {
  const node = document.createElement(tag);
  if (content !== undefined && content !== null) node.textContent = content;
  if (className) node.className = className;
  return node;
}

// A place's everyday name: its first alias ("Xi'an"), or its name without the bracketed part.
function shortName(id) {
  const node = state.nodes.get(id);
  if (!node) return id.startsWith("site-") ? "site" : id;
  return node.aliases[0] || node.name.replace(/\s*\(.*\)\s*$/, "");
}

function placeName(id) {
  const node = state.nodes.get(id);
  return node ? node.name : id;
}

// -- the base map ------------------------------------------------------------------------------

function makeMap() {
  const map = L.map("map", {
    zoomSnap: 0.25, zoomDelta: 0.5, minZoom: 2, maxZoom: 10, worldCopyJump: false,
    attributionControl: true, preferCanvas: false,
  });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("countries: Natural Earth · map: Leaflet");
  for (const [name, z] of [["countries", 200], ["network", 350], ["routes", 420],
    ["ends", 620], ["labels", 640]]) {
    map.createPane(name).style.zIndex = String(z);
  }
  map.getPane("labels").style.pointerEvents = "none";
  map.getPane("countries").style.pointerEvents = "none";
  map.on("zoomend", showLabelsForZoom);
  state.map = map;
  window.silkrouteMap = map; // for the page's tests and the browser console
  addLegend(map);
  return map;
}

async function loadCountries() {
  const response = await fetch("/static/countries.geojson");
  if (!response.ok) throw new Error(`countries: HTTP ${response.status}`);
  const data = await response.json();
  L.geoJSON(data, {
    pane: "countries", interactive: false,
    style: { color: "#b9b09f", weight: 0.8, fillColor: "#f3efe6", fillOpacity: 1 },
  }).addTo(state.map);
  for (const feature of data.features) {
    const [lon, lat] = feature.properties.label;
    const width = degreesWide(feature.geometry);
    const marker = L.marker([lat, lon], {
      pane: "labels", interactive: false, keyboard: false,
      icon: L.divIcon({
        className: "country-label", html: escapeHtml(feature.properties.name), iconSize: null,
      }),
    });
    // A label shows once its country is about 70 px wide on screen.
    marker.minZoom = Math.log2((70 * 360) / (256 * Math.max(width, 0.01)));
    state.countryLabels.push(marker);
  }
  showLabelsForZoom();
}

function degreesWide(geometry) {
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  let best = 0;
  for (const polygon of polygons) {
    const lons = polygon[0].map((p) => p[0]);
    best = Math.max(best, Math.max(...lons) - Math.min(...lons));
  }
  return best;
}

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function showLabelsForZoom() {
  if (!state.full) return; // the view is set once the network is in
  const zoom = state.map.getZoom();
  for (const marker of [...state.countryLabels, ...state.cityLabels]) {
    const show = zoom >= marker.minZoom;
    if (show && !state.map.hasLayer(marker)) marker.addTo(state.map);
    else if (!show && state.map.hasLayer(marker)) marker.remove();
  }
}

async function loadNetwork() {
  const response = await fetch("/v1/network");
  if (!response.ok) throw new Error(`network: HTTP ${response.status}`);
  const data = await response.json();
  for (const node of data.nodes) state.nodes.set(node.id, node);
  for (const crossing of data.crossings) state.crossings.set(crossing.id, crossing);
  const group = L.layerGroup();
  const drawn = new Set();
  for (const link of data.links) {
    const base = link.id.replace(/:rev$/, "");
    if (drawn.has(base)) continue;
    drawn.add(base);
    const a = state.nodes.get(link.from);
    const b = state.nodes.get(link.to);
    // A sea lane far longer than its chord (Shanghai to Rotterdam by Suez) would be drawn
    // across the continent: the network layer leaves it out; a route on it still shows it.
    if (link.distance_km > 1.6 * greatCircleKm(a, b)) continue;
    L.polyline([[a.lat, a.lon], [b.lat, b.lon]], {
      pane: "network", color: MODE_COLOURS[link.mode] || "#777", weight: 1.2, opacity: 0.45,
      dashArray: link.mode === "rail" ? null : "3 3", className: `link ${link.mode}`,
      interactive: false,
    }).addTo(group);
  }
  const bounds = [];
  for (const node of data.nodes) {
    bounds.push([node.lat, node.lon]);
    const circle = L.circleMarker([node.lat, node.lon], {
      pane: "network", radius: node.kind === "border" ? 2.5 : 3.5, weight: 1, color: "#3a4048",
      fillColor: NODE_FILL[node.kind] || "#fff", fillOpacity: 1, className: `node ${node.kind}`,
    }).addTo(group);
    circle.bindTooltip(`${node.name} (${node.id}, ${node.country})`, { direction: "top" });
    circle.on("click", () => pickPlace(node.name));
    if (CITY_KINDS.has(node.kind)) {
      const label = L.marker([node.lat, node.lon], {
        pane: "labels", interactive: false, keyboard: false,
        icon: L.divIcon({
          className: "city-label", html: escapeHtml(shortName(node.id)), iconSize: null,
        }),
      });
      label.minZoom = node.kind === "hub" ? 5 : 3.5;
      state.cityLabels.push(label);
    }
  }
  group.addTo(state.map);
  state.layers.network = group;
  state.full = L.latLngBounds(bounds);
  state.map.fitBounds(state.full, { padding: [20, 20] });
  showLabelsForZoom();
  const stats = data.stats;
  $("network-stats").textContent =
    `${fmt(stats.nodes)} places, ${fmt(stats.links)} links, ${fmt(stats.crossings)} crossings`;
}

function greatCircleKm(a, b) {
  const rad = Math.PI / 180;
  const h = Math.sin(((b.lat - a.lat) * rad) / 2) ** 2 +
    Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(((b.lon - a.lon) * rad) / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}

const NODE_FILL = {
  rail_terminal: "#ffffff", hub: "#ffffff", border: "#d32f2f", sea_port: "#13917f",
  caspian_port: "#13917f", site: "#f5c518", factory: "#f5c518",
};
const CITY_KINDS = new Set(["rail_terminal", "sea_port", "caspian_port", "hub"]);

function addLegend(map) {
  const legend = L.control({ position: "bottomleft" });
  legend.onAdd = () => {
    const box = L.DomUtil.create("div", "legend");
    box.id = "legend";
    const modes = Object.entries(MODE_COLOURS).map(([mode, colour]) =>
      `<span class="key"><i class="swatch" style="background:${colour}"></i>${mode}</span>`);
    box.innerHTML =
      "<div class=\"plan-key\">plan: a colour per corridor (see the table), " +
      "width by TEU</div>" +
      `<div class="route-key">${modes.join("")}</div>` +
      "<div class=\"route-key\"><span class=\"key\"><i class=\"line solid\"></i>selected route</span>" +
      "<span class=\"key\"><i class=\"line dashed\"></i>alternatives</span>" +
      "<span class=\"key\"><i class=\"diamond\"></i>crossing: dwell, fees</span></div>" +
      "<div class=\"muted\">wheel: zoom · drag: pan · double-click a route: fit</div>";
    return box;
  };
  legend.addTo(map);
}

// A click on a node fills "From", then "To".
function pickPlace(name) {
  const target = $("origin").value ? $("destination") : $("origin");
  target.value = name;
}

// -- place autocomplete (GET /v1/places?q=) ----------------------------------------------------

function autocomplete(input) {
  const list = $(`${input.id}-list`);
  let timer = null;
  let active = -1;
  let asked = "";
  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    active = -1;
  };
  const choose = (name) => {
    input.value = name;
    close();
  };
  const highlight = (index) => {
    const items = [...list.children];
    active = Math.max(-1, Math.min(index, items.length - 1));
    items.forEach((item, i) => item.classList.toggle("active", i === active));
  };
  async function ask(query) {
    asked = query;
    const response = await fetch(`/v1/places?q=${encodeURIComponent(query)}`);
    if (!response.ok || query !== asked) return;
    const data = await response.json();
    list.replaceChildren();
    for (const place of data.places.slice(0, 8)) {
      const item = text("li", null, "option");
      item.setAttribute("role", "option");
      item.appendChild(text("span", place.name, "name"));
      item.appendChild(text("span", `${place.id} · ${place.country} · ${place.kind}`, "muted"));
      item.addEventListener("mousedown", (event) => {
        event.preventDefault();
        choose(place.name);
      });
      list.appendChild(item);
    }
    for (const name of data.places.length ? [] : data.suggestions) {
      const item = text("li", `did you mean ${name}?`, "option hint");
      item.addEventListener("mousedown", (event) => {
        event.preventDefault();
        choose(name);
      });
      list.appendChild(item);
    }
    list.hidden = list.children.length === 0 || document.activeElement !== input;
    input.setAttribute("aria-expanded", String(!list.hidden));
    highlight(-1);
  }
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const query = input.value.trim();
    if (query.length < 2) {
      close();
      return;
    }
    timer = setTimeout(() => ask(query).catch(close), 120);
  });
  input.addEventListener("keydown", (event) => {
    if (list.hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      highlight(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      list.children[active].dispatchEvent(new MouseEvent("mousedown"));
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", close);
}

// -- the route query -----------------------------------------------------------------------------

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
      const chip = text("span", name, "suggestion");
      if (target) chip.addEventListener("click", () => { target.value = name; });
      line.appendChild(document.createTextNode(" "));
      line.appendChild(chip);
    }
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
      showRoutes([]);
      showErrors(data.detail);
      return;
    }
    showRoutes(data.routes);
    if (data.infeasible_reason) showStatus(data.infeasible_reason, true);
    else showStatus(`${data.routes.length} route(s)`);
  } catch (error) {
    showStatus(`request failed: ${error.message}`, true);
  } finally {
    $("submit").disabled = false;
  }
}

// -- routes on the map and in the panel -------------------------------------------------------

// A route's legs: runs of moves by one mode, each border crossing, and handling in between.
function legsOf(route) {
  const coords = route.geometry.coordinates;
  const moves = route.steps.filter((s) => s.kind === "move").length;
  const byIndex = coords.length === moves + 1;
  const legs = [];
  let index = 0;
  for (const step of route.steps) {
    if (step.kind === "move") {
      const a = byIndex ? coords[index] : lonLat(step.from);
      const b = byIndex ? coords[index + 1] : lonLat(step.to);
      index += 1;
      const last = legs[legs.length - 1];
      if (last && last.kind === "move" && last.mode === step.mode) {
        last.to = step.to;
        last.path.push([b[1], b[0]]);
        last.steps.push(step);
      } else {
        legs.push({
          kind: "move", mode: step.mode, from: step.from, to: step.to,
          path: [[a[1], a[0]], [b[1], b[0]]], steps: [step],
        });
      }
    } else {
      legs.push({ kind: step.kind, steps: [step], step });
    }
  }
  for (const leg of legs) {
    leg.hours = leg.steps.reduce((sum, s) => sum + s.hours, 0);
    leg.cost = leg.steps.reduce((sum, s) => sum + s.cost_usd, 0);
    leg.km = leg.steps.reduce((sum, s) => sum + (s.distance_km || 0), 0);
    leg.start = leg.steps[0].start;
  }
  return legs;
}

function lonLat(id) {
  const node = state.nodes.get(id);
  return node ? [node.lon, node.lat] : [0, 0];
}

function showRoutes(routes) {
  state.routes = routes.map((route) => ({ route, legs: legsOf(route) }));
  const list = $("routes");
  list.replaceChildren();
  state.routes.forEach(({ route, legs }, rank) => list.appendChild(routeItem(route, legs, rank)));
  drawRoutes();
  if (routes.length) select(0, true);
}

function drawRoutes() {
  for (const name of ["routes", "crossings", "ends"]) {
    if (state.layers[name]) state.layers[name].remove();
    state.layers[name] = L.layerGroup().addTo(state.map);
  }
  const order = state.routes.map((_, rank) => rank).filter((rank) => rank !== state.selected);
  if (state.routes.length) order.push(state.selected); // the selected route lies on top
  for (const rank of order) {
    const { route, legs } = state.routes[rank];
    const selected = rank === state.selected;
    for (const leg of legs) {
      if (leg.kind !== "move") continue;
      if (selected) {
        L.polyline(leg.path, {
          pane: "routes", color: "#ffffff", weight: 9, opacity: 0.95, interactive: false,
          className: "casing",
        }).addTo(state.layers.routes);
      }
      const line = L.polyline(leg.path, {
        pane: "routes", color: MODE_COLOURS[leg.mode] || "#555",
        weight: selected ? 5 : 3.5, opacity: selected ? 1 : 0.8,
        dashArray: selected ? null : "9 7", lineCap: "round",
        className: `route rank-${rank}${selected ? " selected" : ""} ${leg.mode}`,
      }).addTo(state.layers.routes);
      line.bindTooltip(`${rank === 0 ? "best route" : `alternative ${rank}`}: ` +
        `${shortName(leg.from)} → ${shortName(leg.to)}, ${leg.mode}, ${fmt(leg.km)} km`,
      { sticky: true });
      line.on("click", () => select(rank, false));
      line.on("dblclick", (event) => {
        L.DomEvent.stop(event);
        select(rank, true);
      });
    }
  }
  // Each route not selected carries a badge ("best", "alt 1", …) on its longest leg that no
  // route before it shares.
  const taken = new Set();
  const legKey = (leg) => `${leg.from}|${leg.to}|${leg.mode}`;
  const spot = (point) => `${point[0]},${point[1]}`;
  const drawnAt = new Set();
  const mark = (rank) => {
    for (const leg of state.routes[rank].legs) {
      taken.add(legKey(leg));
      for (const point of leg.path || []) drawnAt.add(spot(point));
    }
  };
  if (state.routes.length) mark(state.selected);
  for (const rank of state.routes.map((_, r) => r)) {
    if (rank === state.selected) continue;
    const longest = state.routes[rank].legs
      .filter((leg) => leg.kind === "move" && !taken.has(legKey(leg)))
      .sort((a, b) => b.km - a.km)[0];
    if (!longest) {
      mark(rank);
      continue;
    }
    // the middle of the stretch no route before it passes, else of the whole leg
    const own = longest.path.map((p, i) => i).filter((i) => i > 0 && !drawnAt.has(spot(longest.path[i])));
    const i = own.length ? own[Math.floor(own.length / 2)] : Math.max(1, Math.floor(longest.path.length / 2));
    const [a, b] = [longest.path[i - 1], longest.path[i]];
    const at = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    mark(rank);
    const badge = L.marker(at, {
      pane: "ends", keyboard: false,
      icon: L.divIcon({
        className: "route-badge", html: rank === 0 ? "best" : `alt ${rank}`, iconSize: null,
      }),
    }).addTo(state.layers.routes);
    badge.on("click", () => select(rank, false));
  }
  if (!state.routes.length) return;
  const { route, legs } = state.routes[state.selected];
  for (const leg of legs) {
    if (leg.kind !== "border") continue;
    const step = leg.step;
    const [lon, lat] = lonLat(step.from);
    const [lon2, lat2] = lonLat(step.to);
    const marker = L.marker([(lat + lat2) / 2, (lon + lon2) / 2], {
      pane: "ends",
      icon: L.divIcon({
        className: "crossing-marker", html: "<i class=\"diamond\"></i>", iconSize: [18, 18],
      }),
      title: crossingText(step),
    }).addTo(state.layers.crossings);
    marker.bindTooltip(crossingLabel(step), {
      permanent: true, direction: "right", offset: [8, 0], className: "crossing-tip",
    });
    marker.bindPopup(crossingPopup(step));
  }
  const coords = route.geometry.coordinates;
  const ends = [[coords[0], "origin", route.origin], [coords[coords.length - 1], "destination",
    route.destination]];
  for (const [[lon, lat], kind, id] of ends) {
    L.circleMarker([lat, lon], {
      pane: "ends", radius: 7, weight: 2, color: "#1d2329",
      fillColor: kind === "origin" ? "#2e7d32" : "#d32f2f", fillOpacity: 1,
      className: `end ${kind}`,
    }).bindTooltip(shortName(id), {
      permanent: true, direction: "top", offset: [0, -6], className: "end-tip",
    }).addTo(state.layers.ends);
  }
}

function crossingRecord(step) {
  return state.crossings.get(step.crossing) || state.crossings.get(`${step.crossing}:rev`);
}

function crossingLabel(step) {
  const record = crossingRecord(step);
  const name = record ? record.name.replace(/\s*\(.*\)\s*$/, "") : step.crossing;
  return `${name} · ${fmt(step.hours, 1)} h · $${fmt(step.cost_usd)}`;
}

function crossingText(step) {
  const record = crossingRecord(step);
  const parts = [`${record ? record.name : step.crossing}: ${fmt(step.hours, 1)} h, ` +
    `$${fmt(step.cost_usd)} on this route`];
  if (record) {
    parts.push(`dwell ${fmt(record.dwell_hours, 1)} h typical, ${fmt(record.dwell_p90_hours, 0)} h ` +
      `p90; fee $${fmt(record.fee_usd_per_teu)}/TEU`);
    if (record.gauge_change) parts.push("gauge change");
  }
  return parts.join("; ");
}

function crossingPopup(step) {
  const box = document.createElement("div");
  const record = crossingRecord(step);
  box.appendChild(text("strong", record ? record.name : step.crossing));
  const rows = [
    ["on this route", `${fmt(step.hours, 1)} h, $${fmt(step.cost_usd)}`],
  ];
  if (record) {
    rows.push(["dwell", `${fmt(record.dwell_hours, 1)} h typical, ${fmt(record.dwell_p90_hours)} h p90`]);
    rows.push(["fee", `$${fmt(record.fee_usd_per_teu)} per TEU`]);
    if (record.gauge_change) {
      rows.push(["gauge change", `$${fmt(record.transhipment_usd_per_teu || 0)} per TEU`]);
    }
    if (record.capacity_teu_per_week) {
      rows.push(["capacity", `${fmt(record.capacity_teu_per_week)} TEU/week`]);
    }
  }
  const table = document.createElement("table");
  for (const [key, value] of rows) {
    const row = table.insertRow();
    row.insertCell().textContent = key;
    row.insertCell().textContent = value;
  }
  box.appendChild(table);
  return box;
}

function legRow(leg) {
  const row = document.createElement("tr");
  row.className = `leg ${leg.kind}`;
  let what;
  let detail;
  if (leg.kind === "move") {
    what = `${shortName(leg.from)} → ${shortName(leg.to)}`;
    detail = `${leg.mode} · ${fmt(leg.km)} km`;
  } else if (leg.kind === "border") {
    const record = crossingRecord(leg.step);
    what = record ? record.name : leg.step.crossing;
    detail = leg.step.note || "border";
  } else {
    what = shortName(leg.step.node);
    detail = leg.step.note || leg.kind;
  }
  const mark = text("td", "", "mark");
  const swatch = text("i", "", leg.kind === "border" ? "diamond" : "swatch");
  if (leg.kind === "move") swatch.style.background = MODE_COLOURS[leg.mode] || "#555";
  if (leg.kind !== "move" && leg.kind !== "border") swatch.className = "dot";
  mark.appendChild(swatch);
  row.appendChild(mark);
  const where = text("td", what, "where");
  where.appendChild(text("div", detail, "via"));
  row.appendChild(where);
  row.appendChild(text("td", leg.start.slice(5, 10), "num"));
  row.appendChild(text("td", leg.hours >= 48 ? `${fmt(leg.hours / 24, 1)} d` : `${fmt(leg.hours, 1)} h`, "num"));
  row.appendChild(text("td", `$${fmt(leg.cost)}`, "num"));
  return row;
}

function routeItem(route, legs, rank) {
  const t = route.totals;
  const item = document.createElement("li");
  item.dataset.rank = String(rank);
  const head = document.createElement("div");
  head.className = "head";
  head.appendChild(text("strong", rank === 0 ? "Best route" : `Alternative ${rank}`));
  head.appendChild(text("span", ` $${fmt(t.cost_usd)} · ${fmt(t.transit_days, 1)} days`, "big"));
  item.appendChild(head);
  item.appendChild(text("div",
    `${fmt(t.distance_km)} km · ${fmt(t.co2e_kg / 1000, 2)} t CO2e · ${route.countries.join("–")} · ` +
    `arrive ${route.arrive.slice(0, 16).replace("T", " ")} UTC`, "totals"));
  const forecast = route.arrival_forecast;
  if (forecast && forecast.arrive_p10 && forecast.arrive_p90) {
    item.appendChild(fan(forecast, rank));
  }
  const slack = badDayHours(route);
  if (slack > 0 && !forecast) {
    const late = new Date(Date.parse(route.arrive) + slack * 3600e3).toISOString();
    item.appendChild(text("div", `bad day (p90 dwell at every crossing): +${fmt(slack, 1)} h, ` +
      `arrive ${late.slice(0, 16).replace("T", " ")} UTC`, "totals p90"));
  }
  const table = document.createElement("table");
  table.className = "legs";
  const body = document.createElement("tbody");
  for (const leg of legs) body.appendChild(legRow(leg));
  table.appendChild(body);
  item.appendChild(table);
  const details = document.createElement("details");
  details.appendChild(text("summary", `all ${route.steps.length} steps`));
  details.appendChild(stepsTable(route));
  item.appendChild(details);
  item.addEventListener("click", (event) => {
    if (event.target.closest("details")) return;
    select(rank, true);
  });
  return item;
}

// The arrival forecast as a fan: p10 to p90 on one time scale shared by every route listed, the
// p50 and the planned arrival marked, so that alternatives compare at a glance.
function fan(forecast, rank) {
  const times = state.routes.flatMap(({ route }) => {
    const f = route.arrival_forecast;
    return f ? [Date.parse(f.arrive_p10), Date.parse(f.arrive_p90), Date.parse(f.arrive_planned)]
      : [Date.parse(route.arrive)];
  });
  const low = Math.min(...times);
  const span = Math.max(Math.max(...times) - low, 3600e3);
  const at = (iso) => `${(100 * (Date.parse(iso) - low)) / span}%`;
  const box = text("div", "", "fan");
  box.dataset.rank = String(rank);
  const band = text("span", "", "band");
  band.style.left = at(forecast.arrive_p10);
  band.style.width = `calc(${at(forecast.arrive_p90)} - ${at(forecast.arrive_p10)})`;
  box.appendChild(band);
  const median = text("span", "", "p50");
  median.style.left = at(forecast.arrive_p50);
  box.appendChild(median);
  const day = (iso) => iso.slice(5, 16).replace("T", " ");
  const label = text("div", `arrival p10–p90 ${day(forecast.arrive_p10)} – ` +
    `${day(forecast.arrive_p90)} UTC, p50 ${day(forecast.arrive_p50)}` +
    (forecast.on_time_probability != null
      ? `, on time ${fmt(forecast.on_time_probability * 100)} %` : ""), "totals");
  const wrap = text("div", "", "forecast");
  wrap.appendChild(box);
  wrap.appendChild(label);
  return wrap;
}

// Hours a route loses when every crossing on it has a bad day: the p90 dwell in place of the
// typical one (from the crossings' data).
function badDayHours(route) {
  let hours = 0;
  for (const step of route.steps) {
    if (step.kind !== "border") continue;
    const record = crossingRecord(step);
    if (record) hours += Math.max(0, record.dwell_p90_hours - record.dwell_hours);
  }
  return hours;
}

function stepsTable(route) {
  const table = document.createElement("table");
  table.className = "steps";
  table.innerHTML = "<thead><tr><th>start UTC</th><th>step</th><th>where</th>" +
    "<th>h</th><th>USD</th><th>kg CO2e</th></tr></thead>";
  const body = document.createElement("tbody");
  for (const step of route.steps) {
    const row = document.createElement("tr");
    let where;
    if (step.kind === "move") where = `${placeName(step.from)} → ${placeName(step.to)}`;
    else if (step.kind === "border") where = crossingRecord(step)?.name || step.crossing;
    else where = placeName(step.node);
    const cells = [
      [step.start.slice(5, 16).replace("T", " "), ""], [step.kind, ""], [where, ""],
      [fmt(step.hours, 1), "num"], [fmt(step.cost_usd), "num"], [fmt(step.co2e_kg), "num"],
    ];
    for (const [value, cls] of cells) row.appendChild(text("td", value, cls));
    const via = step.kind === "move" ? `${step.mode} ${step.service || step.link}` : step.note;
    if (via) row.children[2].appendChild(text("div", via, "via"));
    body.appendChild(row);
  }
  table.appendChild(body);
  return table;
}

function select(rank, zoom) {
  state.selected = rank;
  drawRoutes();
  for (const item of document.querySelectorAll("#routes li")) {
    item.classList.toggle("selected", item.dataset.rank === String(rank));
  }
  if (zoom) fitRoute(rank);
}

function fitRoute(rank) {
  const { legs } = state.routes[rank];
  const points = legs.filter((leg) => leg.kind === "move").flatMap((leg) => leg.path);
  if (points.length) state.map.fitBounds(L.latLngBounds(points), { padding: [40, 40] });
}

// -- the plan view: shipments by corridor on the map, crossing load by week ------------------

const CORRIDOR_COLOURS = ["#2f63a8", "#c0601a", "#13917f", "#7b52ab", "#b8860b", "#c2185b",
  "#4d7d2a", "#5d6d7e"];

function showTab(name) {
  const plan = name === "plan";
  $("route-view").hidden = plan;
  $("plan-view").hidden = !plan;
  $("tab-route").classList.toggle("active", !plan);
  $("tab-plan").classList.toggle("active", plan);
  $("tab-route").setAttribute("aria-selected", String(!plan));
  $("tab-plan").setAttribute("aria-selected", String(plan));
  $("legend").dataset.view = name;
  for (const name of ["routes", "crossings", "ends"]) {
    if (state.layers[name]) state.layers[name].remove();
  }
  if (state.planLayer) state.planLayer.remove();
  if (plan && state.planLayer) state.planLayer.addTo(state.map);
  if (!plan && state.routes.length) drawRoutes();
}

// One CSV line into cells: commas separate, double quotes enclose, "" is a quote.
function csvCells(line) {
  const cells = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (quoted) {
      if (c === "\"" && line[i + 1] === "\"") { cell += "\""; i += 1; }
      else if (c === "\"") quoted = false;
      else cell += c;
    } else if (c === "\"") quoted = true;
    else if (c === ",") { cells.push(cell.trim()); cell = ""; }
    else cell += c;
  }
  cells.push(cell.trim());
  return cells;
}

// The CSV as the shipments of POST /v1/plans; problems are named by line and column.
function planShipments(text) {
  const lines = text.replace(/^\ufeff/, "").split(/\r?\n/).filter((line) => line.trim());
  if (lines.length < 2) throw new Error("give a header line and at least one shipment");
  const header = csvCells(lines[0]).map((h) => h.toLowerCase());
  for (const column of ["id", "origin", "destination", "ready"]) {
    if (!header.includes(column)) throw new Error(`line 1: the column '${column}' is missing`);
  }
  const numbers = ["teu", "pieces", "length_m", "width_m", "height_m", "weight_t"];
  return lines.slice(1).map((line, index) => {
    const cells = csvCells(line);
    if (cells.length !== header.length) {
      throw new Error(`line ${index + 2}: ${cells.length} cells, the header has ${header.length}`);
    }
    const row = Object.fromEntries(header.map((h, i) => [h, cells[i]]));
    const cargo = {};
    for (const key of numbers) {
      if (row[key] === undefined || row[key] === "") continue;
      const value = Number(row[key]);
      if (!Number.isFinite(value)) throw new Error(`line ${index + 2}, ${key}: '${row[key]}' is not a number`);
      cargo[key] = value;
    }
    if (!("teu" in cargo) && !("pieces" in cargo)) {
      throw new Error(`line ${index + 2}: give teu or pieces`);
    }
    const shipment = {
      id: row.id, origin: row.origin, destination: row.destination, cargo, ready: row.ready,
    };
    if (row.due) shipment.due = row.due;
    return shipment;
  });
}

function planStatus(message, isError = false) {
  const status = $("plan-status");
  status.className = isError ? "error" : "";
  status.textContent = message;
}

async function submitPlan(event) {
  event.preventDefault();
  let shipments;
  try {
    shipments = planShipments($("plan-csv").value);
  } catch (error) {
    planStatus(error.message, true);
    return;
  }
  const headers = { "Content-Type": "application/json" };
  const key = $("api-key").value;
  if (key) headers["X-API-Key"] = key;
  $("plan-submit").disabled = true;
  $("plan-result").replaceChildren();
  planStatus("queued…");
  try {
    const response = await fetch("/v1/plans", {
      method: "POST", headers,
      body: JSON.stringify({ shipments, time_limit_s: number("plan-seconds") ?? 10 }),
    });
    let job = await response.json().catch(() => ({ detail: `HTTP ${response.status}` }));
    if (!response.ok) {
      const detail = Array.isArray(job.detail) ? job.detail : [{ msg: String(job.detail), loc: [] }];
      planStatus(detail.map((d) => `${(d.loc || []).filter((p) => p !== "body").join(".")}: ` +
        `${d.msg}`).join("; "), true);
      return;
    }
    while (job.status === "queued" || job.status === "running") {
      planStatus(`${job.status}…`);
      await new Promise((resolve) => { setTimeout(resolve, 500); });
      const poll = await fetch(`/v1/plans/${encodeURIComponent(job.id)}`);
      job = await poll.json();
    }
    if (job.status !== "done") {
      planStatus(`the plan failed: ${job.error || job.status}`, true);
      return;
    }
    showPlan(job);
  } catch (error) {
    planStatus(`request failed: ${error.message}`, true);
  } finally {
    $("plan-submit").disabled = false;
  }
}

function crossingName(id) {
  const record = state.crossings.get(id) || state.crossings.get(id.replace(/:rev$/, ""));
  return record ? record.name.replace(/\s*\(.*\)\s*$/, "") : id;
}

function showPlan(job) {
  const plan = job.plan;
  const s = plan.summary;
  planStatus(`${s.planned} of ${s.shipments} planned: ${s.on_time} on time, ${s.late} late ` +
    `(${fmt(s.late_days, 1)} days), ${s.unplanned} unplanned · $${fmt(s.cost_usd)} · ` +
    `${fmt(s.co2e_kg / 1000, 1)} t CO2e · ${plan.status}`);
  // Shipments by corridor: the crossings a route passes, in order.
  const corridors = new Map();
  for (const shipment of plan.shipments) {
    const route = shipment.route;
    const key = route ? (route.crossings.map(crossingName).join(" + ") || "no border crossing")
      : "unplanned";
    if (!corridors.has(key)) corridors.set(key, { key, shipments: [], teu: 0, late: 0 });
    const group = corridors.get(key);
    group.shipments.push(shipment);
    group.teu += shipment.teu_equivalent;
    if (shipment.status === "late") group.late += 1;
  }
  const groups = [...corridors.values()].sort((a, b) => b.teu - a.teu);
  if (state.planLayer) state.planLayer.remove();
  state.planLayer = L.layerGroup().addTo(state.map);
  const most = Math.max(...groups.map((g) => g.teu), 1);
  const points = [];
  groups.forEach((group, index) => {
    group.colour = group.key === "unplanned" ? "#8a939c" : CORRIDOR_COLOURS[index % CORRIDOR_COLOURS.length];
    for (const shipment of group.shipments) {
      if (!shipment.route) continue;
      const path = shipment.route.geometry.coordinates.map(([lon, lat]) => [lat, lon]);
      points.push(...path);
      L.polyline(path, {
        pane: "routes", color: group.colour, weight: 2 + 8 * Math.sqrt(group.teu / most),
        opacity: 0.75, className: "plan-route", lineCap: "round",
      }).bindTooltip(`${group.key}: ${group.shipments.length} shipment(s), ${fmt(group.teu, 1)} TEU`,
        { sticky: true }).addTo(state.planLayer);
    }
  });
  if (points.length) state.map.fitBounds(L.latLngBounds(points), { padding: [30, 30] });

  const box = $("plan-result");
  box.replaceChildren();
  box.appendChild(text("h3", "Shipments by corridor"));
  const table = document.createElement("table");
  table.id = "plan-corridors";
  table.innerHTML = "<thead><tr><th></th><th>corridor</th><th class=\"num\">shipments</th>" +
    "<th class=\"num\">TEU</th><th class=\"num\">late</th></tr></thead>";
  const body = table.createTBody();
  for (const group of groups) {
    const row = body.insertRow();
    const mark = row.insertCell();
    const swatch = text("i", "", "swatch");
    swatch.style.background = group.colour;
    mark.appendChild(swatch);
    row.appendChild(text("td", group.key));
    row.appendChild(text("td", String(group.shipments.length), "num"));
    row.appendChild(text("td", fmt(group.teu, 1), "num"));
    row.appendChild(text("td", String(group.late), "num"));
  }
  box.appendChild(table);

  box.appendChild(text("h3", "Crossing load by week"));
  const weekly = plan.resources.filter((r) => state.crossings.has(r.id) && /-W\d\d$/.test(r.period));
  if (!weekly.length) {
    box.appendChild(text("p", "No planned shipment passes a crossing with a stated capacity.", "muted"));
  } else {
    const top = Math.max(...weekly.map((r) => r.used_teu / r.capacity_teu));
    const load = document.createElement("table");
    load.id = "plan-load";
    load.innerHTML = "<thead><tr><th>crossing</th><th>week</th><th class=\"num\">TEU</th>" +
      "<th>of capacity</th></tr></thead>";
    const rows = load.createTBody();
    weekly.sort((a, b) => b.used_teu / b.capacity_teu - a.used_teu / a.capacity_teu);
    for (const r of weekly.slice(0, 20)) {
      const share = r.used_teu / r.capacity_teu;
      const row = rows.insertRow();
      const record = state.crossings.get(r.id);
      row.appendChild(text("td", record.name + (r.id.endsWith(":rev") ? " (reverse)" : "")));
      row.appendChild(text("td", r.period.slice(5)));
      row.appendChild(text("td", fmt(r.used_teu, 1), "num"));
      const cell = row.insertCell();
      const bar = text("div", "", "bar");
      // Bars are scaled to the fullest week shown, the share written beside them.
      bar.style.width = `${Math.max(2, (60 * share) / top)}%`;
      bar.style.background = share >= 0.95 ? "#d32f2f" : share >= 0.7 ? "#f39c12" : "#5b7fa8";
      cell.appendChild(bar);
      const percent = share < 0.001 ? "< 0.1" : fmt(share * 100, share < 0.1 ? 1 : 0);
      cell.appendChild(text("span", `${percent} % of ${fmt(r.capacity_teu)}`, "muted"));
    }
    box.appendChild(load);
  }
  const link = text("a", "the full report (HTML)");
  link.href = `/v1/plans/${encodeURIComponent(job.id)}/report`;
  link.target = "_blank";
  const para = text("p", "");
  para.appendChild(link);
  box.appendChild(para);
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
  $("plan-form").addEventListener("submit", submitPlan);
  $("tab-route").addEventListener("click", () => showTab("route"));
  $("tab-plan").addEventListener("click", () => showTab("plan"));
  $("plan-file").addEventListener("change", async () => {
    const file = $("plan-file").files[0];
    if (file) $("plan-csv").value = await file.text();
  });
  autocomplete($("origin"));
  autocomplete($("destination"));
  makeMap();
  Promise.all([loadCountries(), loadNetwork()])
    .then(() => { document.body.dataset.ready = "true"; })
    .catch((error) => showStatus(`could not load the map: ${error.message}`, true));
}

init();
