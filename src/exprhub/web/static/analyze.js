/* The analyze page: fills the field pickers from /api/v1/analysis/{acc}/fields and draws the
   charts that /api/v1/analysis returns as plotly figures (plotly.js from /vendor). */
"use strict";

(function () {
  var root = document.getElementById("analyze");
  if (!root) return;
  var acc = root.dataset.acc;
  var base = "/api/v1/analysis/" + encodeURIComponent(acc);
  var MAX_GROUPS = 40;

  function byId(id) { return document.getElementById(id); }

  function sourceParams() {
    var params = new URLSearchParams();
    params.set("values", byId("values").value);
    var platform = byId("platform");
    if (platform && byId("values").value === "submitted") params.set("platform", platform.value);
    return params;
  }

  function url(path, extra) {
    var params = sourceParams();
    Object.keys(extra || {}).forEach(function (k) {
      if (extra[k] !== "" && extra[k] !== null && extra[k] !== undefined) params.set(k, extra[k]);
    });
    return base + path + "?" + params.toString();
  }

  function getJson(address) {
    return fetch(address, { headers: { Accept: "application/json" } }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          var message = body && body.error ? body.error.message : response.statusText;
          throw new Error(message);
        }
        return body;
      });
    });
  }

  function showError(target, error) {
    target.textContent = "";
    var p = document.createElement("p");
    p.className = "chart-error";
    p.textContent = error.message;
    target.appendChild(p);
  }

  function draw(target, figure) {
    target.textContent = "";
    window.Plotly.newPlot(target, figure.data, figure.layout, {
      responsive: true,
      displaylogo: false,
    });
  }

  function option(value, label) {
    var node = document.createElement("option");
    node.value = value;
    node.textContent = label;
    return node;
  }

  function groupingFields(info) {
    var n = info.samples.length;
    return Object.keys(info.fields).filter(function (name) {
      var count = info.fields[name].length;
      return count >= 2 && count <= MAX_GROUPS && count < n;
    });
  }

  function fillPickers(info) {
    var n = info.samples.length;
    var fields = groupingFields(info);
    var subsetTypes = info.subsets.map(function (s) { return s.type; });
    var preferred = fields.filter(function (f) { return subsetTypes.indexOf(f) >= 0; })[0] ||
      fields[0] || "";
    var groupBy = byId("group-by");
    var keep = groupBy.value;
    groupBy.textContent = "";
    groupBy.appendChild(option("", "(none)"));
    fields.forEach(function (f) { groupBy.appendChild(option(f, f)); });
    groupBy.value = fields.indexOf(keep) >= 0 ? keep : preferred;

    var setA = byId("set-a");
    var setB = byId("set-b");
    setA.textContent = "";
    setB.textContent = "";
    setB.appendChild(option("rest", "all other samples"));
    fields.forEach(function (f) {
      info.fields[f].forEach(function (v) {
        setA.appendChild(option(f + "=" + v, f + ": " + v));
        setB.appendChild(option(f + "=" + v, f + ": " + v));
      });
    });
    if (preferred) {
      var values = info.fields[preferred];
      var counts = info.counts[preferred];
      setA.value = preferred + "=" + values[0];
      setB.value = values.length === 2 ? preferred + "=" + values[1] : "rest";
      var inA = counts[values[0]];
      var inB = values.length === 2 ? counts[values[1]] : n - inA;
      // a t-test needs two samples in each set: start with the fold of means otherwise
      if (inA < 2 || inB < 2) byId("method").value = "fold";
    }
  }

  function status(text, isError) {
    var node = byId("status");
    node.textContent = text;
    node.classList.toggle("error", !!isError);
  }

  function loadBox() {
    var target = byId("box-chart");
    return getJson(url("/distributions", { by: byId("group-by").value, figure: "true" }))
      .then(function (body) { draw(target, body.figure); })
      .catch(function (error) { showError(target, error); });
  }

  function loadPca() {
    var target = byId("pca-chart");
    return getJson(url("/pca", { color: byId("group-by").value, figure: "true" }))
      .then(function (body) { draw(target, body.figure); })
      .catch(function (error) { showError(target, error); });
  }

  function clusterOptions() {
    return {
      method: byId("cluster-method").value,
      linkage: byId("linkage").value,
      distance: byId("distance").value,
      k: byId("k").value.trim(),
      top: byId("top").value.trim(),
      annotate: byId("group-by").value,
    };
  }

  function loadHeatmap() {
    var target = byId("heatmap-chart");
    var options = clusterOptions();
    byId("cluster-png").href = url("/cluster", Object.assign({ format: "png" }, options));
    byId("cluster-svg").href = url("/cluster", Object.assign({ format: "svg" }, options));
    byId("cluster-tsv").href = url("/cluster", Object.assign({ format: "tsv" }, options));
    target.textContent = "Clustering…";
    return getJson(url("/cluster", Object.assign({ figure: "true" }, options)))
      .then(function (body) { draw(target, body.figure); })
      .catch(function (error) { showError(target, error); });
  }

  function cell(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "number") return Math.abs(value) < 1e-3 && value !== 0
      ? value.toExponential(2) : String(Math.round(value * 1000) / 1000);
    return String(value);
  }

  function fillTable(body) {
    var table = byId("compare-table");
    table.textContent = "";
    var columns = ["identifier", "mean_a", "mean_b", "fold", "statistic", "p_value", "adj_p_value"]
      .filter(function (c) { return body.rows.length && c in body.rows[0]; });
    var head = table.createTHead().insertRow();
    [body.id_column].concat(columns).forEach(function (c) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = c;
      head.appendChild(th);
    });
    var tbody = table.createTBody();
    body.rows.forEach(function (row) {
      var tr = tbody.insertRow();
      tr.insertCell().textContent = row.id;
      columns.forEach(function (c) {
        var td = tr.insertCell();
        td.textContent = cell(row[c]);
        if (c !== "identifier") td.className = "num";
      });
    });
  }

  function loadCompare() {
    var target = byId("volcano-chart");
    var options = {
      a: byId("set-a").value,
      b: byId("set-b").value,
      method: byId("method").value,
      adj_p_value: byId("adj-p").value.trim(),
      fold: byId("fold").value.trim(),
    };
    byId("compare-tsv").href = url("/compare", Object.assign({ format: "tsv" }, options));
    if (!options.a) {
      showError(target, new Error("No field to define sets by: choose samples through the API."));
      return Promise.resolve();
    }
    return getJson(url("/compare", Object.assign({ figure: "true", limit: "50" }, options)))
      .then(function (body) {
        byId("compare-summary").textContent = "A = " + body.a_label + " (" + body.a.length +
          " samples) vs B = " + body.b_label + " (" + body.b.length + "): " + body.rows_kept +
          " of " + body.rows_tested + " rows kept; the first " + body.rows_shown + " below.";
        draw(target, body.figure);
        fillTable(body);
      })
      .catch(function (error) {
        byId("compare-summary").textContent = "";
        byId("compare-table").textContent = "";
        showError(target, error);
      });
  }

  function loadAll() {
    status("Loading…");
    return getJson(url("/fields"))
      .then(function (info) {
        status(acc + ": " + info.samples.length + " samples, " + info.rows + " rows of " +
          info.values + " values" + (info.platform ? " (" + info.platform + ")" : "") + ".");
        fillPickers(info);
        return Promise.all([loadCompare(), loadHeatmap(), loadBox(), loadPca()]);
      })
      .catch(function (error) { status(error.message, true); })
      .then(function () { root.dataset.ready = "true"; });
  }

  byId("values").addEventListener("change", loadAll);
  if (byId("platform")) byId("platform").addEventListener("change", loadAll);
  byId("group-by").addEventListener("change", function () {
    loadBox();
    loadPca();
    loadHeatmap();
  });
  byId("cluster-form").addEventListener("submit", function (event) {
    event.preventDefault();
    loadHeatmap();
  });
  byId("compare-form").addEventListener("submit", function (event) {
    event.preventDefault();
    loadCompare();
  });
  loadAll();
})();
