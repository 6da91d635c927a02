/* Profile charts (GEO Profiles) with plotly.js: value bars, rank percentile markers on a
   second axis (0-100), and one band per subset type naming each sample's group. Each
   .profile-chart element names its DataSet or series and gene in data-* attributes; the
   values come from /api/v1/profiles/{acc}/{gene}. */
"use strict";

var PROFILE_COLOURS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860",
  "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd"];

function profileOrder(data) {
  var samples = [];
  data.rows.forEach(function (r) { if (samples.indexOf(r.sample) === -1) samples.push(r.sample); });
  var types = Object.keys(data.subset_types || {});
  if (!types.length) return samples;
  var first = types[0];
  var groups = data.subset_types[first];
  var groupOf = {};
  data.rows.forEach(function (r) { groupOf[r.sample] = r[first]; });
  function rank(s) { var i = groups.indexOf(groupOf[s]); return i === -1 ? groups.length : i; }
  return samples.map(function (s, i) { return [rank(s), i, s]; })
    .sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; })
    .map(function (x) { return x[2]; });
}

function drawProfile(node, data, feature) {
  var order = profileOrder(data);
  var rows = data.rows.filter(function (r) { return r.feature === feature; });
  var bySample = {};
  rows.forEach(function (r) { bySample[r.sample] = r; });
  var types = Object.keys(data.subset_types || {});
  var band = 0.07;
  var mainBottom = Math.min(0.6, types.length * (band + 0.02));
  var traces = [
    { type: "bar", name: "value", x: order, marker: { color: "#7f9fbf" },
      y: order.map(function (s) { return bySample[s] ? bySample[s].value : null; }),
      hovertemplate: "%{x}<br>value %{y}<extra></extra>" },
    { type: "scatter", mode: "markers", name: "rank percentile", x: order, yaxis: "y2",
      marker: { symbol: "square", color: "#c0392b", size: 8 },
      y: order.map(function (s) { return bySample[s] ? bySample[s].rank_percentile : null; }),
      hovertemplate: "%{x}<br>rank %{y}<extra></extra>" }
  ];
  var layout = {
    margin: { l: 110, r: 60, t: 30, b: 90 }, height: 360 + 30 * types.length,
    bargap: 0.15, showlegend: false, hovermode: "closest",
    title: { text: feature + (rows.length && rows[0].symbol ? " " + rows[0].symbol : ""), x: 0, font: { size: 14 } },
    // the sample names go under the lowest subset band
    xaxis: { type: "category", tickangle: -90, tickfont: { size: 9 }, anchor: types.length ? "y" + (types.length + 2) : "y" },
    yaxis: { title: { text: "value" }, domain: [mainBottom, 1] },
    yaxis2: { title: { text: "rank percentile" }, overlaying: "y", side: "right", range: [0, 104],
      tickmode: "array", tickvals: [0, 25, 50, 75, 100], showgrid: false },
    annotations: []
  };
  types.forEach(function (type, k) {
    var axis = "y" + (k + 3);
    var top = mainBottom - 0.02 - k * (band + 0.02);
    layout["yaxis" + (k + 3)] = { domain: [Math.max(0, top - band), top], showticklabels: false,
      range: [0, 1], fixedrange: true, showgrid: false, zeroline: false };
    layout.annotations.push({ text: type, xref: "paper", yref: "paper", x: 0, xanchor: "right",
      y: top - band / 2, yanchor: "middle", showarrow: false, font: { size: 10 } });
    var groups = data.subset_types[type];
    // the group's name over each run of neighbouring samples in it
    var start = 0;
    for (var i = 1; i <= order.length; i++) {
      var here = bySample[order[start]] ? bySample[order[start]][type] : null;
      var next = i < order.length && bySample[order[i]] ? bySample[order[i]][type] : null;
      if (i < order.length && next === here) continue;
      if (here !== null && here !== undefined) {
        layout.annotations.push({ text: String(here), xref: "x", yref: "paper", showarrow: false,
          x: (start + i - 1) / 2, y: top - band / 2, yanchor: "middle",
          font: { size: 10, color: "#fff" } });
      }
      start = i;
    }
    groups.forEach(function (group, g) {
      var members = order.filter(function (s) { return bySample[s] && bySample[s][type] === group; });
      if (!members.length) return;
      traces.push({ type: "bar", x: members, y: members.map(function () { return 1; }), yaxis: axis,
        name: type + ": " + group, width: 1, marker: { color: PROFILE_COLOURS[g % PROFILE_COLOURS.length] },
        text: members.map(function () { return group; }), textposition: "none",
        hovertemplate: "%{x}<br>" + type + ": " + group + "<extra></extra>" });
    });
  });
  window.Plotly.newPlot(node, traces, layout, { displaylogo: false, responsive: true });
}

function showFlags(card, data, feature) {
  var list = card.querySelector(".profile-flags");
  if (!list) return;
  list.textContent = "";
  (data.flags || []).filter(function (f) { return f.feature === feature; }).forEach(function (f) {
    var li = document.createElement("li");
    var fdr = f.fdr === null ? "–" : Number(f.fdr).toPrecision(3);
    var fold = f.log2_fold === null ? "–" : Number(f.log2_fold).toFixed(2);
    li.textContent = (f.flagged ? "Flagged: differentially expressed across " : "Not flagged across ") +
      f.subset_type + " (FDR " + fdr + ", log2 fold " + fold + ")";
    if (f.flagged) li.className = "flagged";
    list.appendChild(li);
  });
}

var plotlyLoading = null;

/* plotly.js is loaded the first time a chart is drawn, not with every page. */
function withPlotly(callback) {
  if (window.Plotly) { callback(); return; }
  if (!plotlyLoading) {
    plotlyLoading = new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = "/vendor/plotly.min.js";
      script.onload = resolve;
      script.onerror = function () { reject(new Error("plotly.js did not load")); };
      document.head.appendChild(script);
    });
  }
  plotlyLoading.then(callback, function (err) { console.warn(String(err)); });
}

function loadProfile(node) {
  var acc = node.dataset.accession, gene = node.dataset.gene;
  var card = node.closest(".profile-card") || node.parentNode;
  var status = card.querySelector(".profile-status");
  if (!acc || !gene) return;
  var url = "/api/v1/profiles/" + encodeURIComponent(acc) + "/" + encodeURIComponent(gene);
  if (node.dataset.platform) url += "?platform=" + encodeURIComponent(node.dataset.platform);
  if (status) status.textContent = "Loading the profile of " + gene + "…";
  fetch(url, { headers: { Accept: "application/json" } }).then(function (response) {
    return response.json().then(function (body) { return [response.ok, body]; });
  }).then(function (result) {
    var ok = result[0], data = result[1];
    if (!ok) {
      if (status) status.textContent = (data.error && data.error.message) || "No profile.";
      return;
    }
    var features = data.features || [];
    var select = card.querySelector("select.profile-feature");
    if (select) select.remove();
    if (features.length > 1) {
      select = document.createElement("select");
      select.className = "profile-feature";
      select.setAttribute("aria-label", "Probe");
      features.forEach(function (f) { var o = document.createElement("option"); o.value = f; o.textContent = f; select.appendChild(o); });
      select.addEventListener("change", function () {
        withPlotly(function () { drawProfile(node, data, select.value); });
        showFlags(card, data, select.value);
      });
      node.parentNode.insertBefore(select, node);
    }
    if (status) {
      status.textContent = data.accession + ": " + data.values + " values" +
        (data.platform ? " on " + data.platform : "") + "; " + features.length + " probe(s); context: " +
        data.context + ". Bars: value; squares: rank percentile within the sample.";
    }
    withPlotly(function () { drawProfile(node, data, features[0]); });
    showFlags(card, data, features[0]);
    node.dataset.drawn = features[0];
  }).catch(function (err) {
    if (status) status.textContent = "Could not load the profile: " + err.message;
  });
}

function setupProfiles() {
  document.querySelectorAll(".profile-form").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var node = form.parentNode.querySelector(".profile-chart");
      node.dataset.gene = form.querySelector("input[name=gene]").value.trim();
      loadProfile(node);
    });
  });
  document.querySelectorAll(".profile-chart").forEach(loadProfile);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setupProfiles);
else setupProfiles();
