/* The GEO2R page: the samples table from /api/v1/analysis/{acc}/samples, groups defined by
   picking samples (or one group per value of a field), a run by POST /api/v1/analysis/{acc}/de
   with the groups as sample lists, its volcano plot (plotly.js from /vendor), top table and
   downloads of the whole table (TSV) and the volcano (PNG). */
"use strict";

(function () {
  var root = document.getElementById("geo2r");
  if (!root) return;
  var acc = root.dataset.acc;
  var base = "/api/v1/analysis/" + encodeURIComponent(acc);
  var COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
    "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
  var TABLE_ROWS = 250;
  var MAX_FIELD_GROUPS = 20;

  var samples = [];          // [{sample, title, fields}]
  var columns = [];          // field names shown in the table
  var groups = [];           // [{name, colour}] in design order
  var assigned = {};         // sample -> group name
  var selected = {};         // sample -> true
  var lastClicked = null;    // index in `samples` of the last row clicked

  function byId(id) { return document.getElementById(id); }

  function sourceParams() {
    var params = { values: byId("values").value };
    var platform = byId("platform");
    if (platform && params.values === "submitted") params.platform = platform.value;
    return params;
  }

  function errorOf(response, body) {
    return new Error(body && body.error ? body.error.message : response.statusText);
  }

  function getJson(address) {
    return fetch(address, { headers: { Accept: "application/json" } }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw errorOf(response, body);
        return body;
      });
    });
  }

  function post(body) {
    return fetch(base + "/de", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    }).then(function (response) {
      if (response.ok) return response;
      return response.json().then(function (b) { throw errorOf(response, b); });
    });
  }

  function status(text, isError) {
    var node = byId("status");
    node.textContent = text;
    node.classList.toggle("error", !!isError);
  }

  function groupOf(name) {
    for (var i = 0; i < groups.length; i++) if (groups[i].name === name) return groups[i];
    return null;
  }

  function members(name) {
    return samples.filter(function (s) { return assigned[s.sample] === name; })
      .map(function (s) { return s.sample; });
  }

  function selectedKeys() {
    return samples.filter(function (s) { return selected[s.sample]; })
      .map(function (s) { return s.sample; });
  }

  // ---- groups -------------------------------------------------------------------------

  function addGroup(name) {
    name = name.trim();
    if (!name) return "Give the group a name.";
    if (name.indexOf("`") >= 0) return "A group name cannot contain a backquote.";
    if (groupOf(name)) return "There is already a group " + name + ".";
    groups.push({ name: name, colour: COLOURS[groups.length % COLOURS.length] });
    return null;
  }

  function assignSelected(name) {
    selectedKeys().forEach(function (key) { assigned[key] = name; });
    selected = {};
    refresh();
  }

  function removeGroup(name) {
    groups = groups.filter(function (g) { return g.name !== name; });
    Object.keys(assigned).forEach(function (key) {
      if (assigned[key] === name) delete assigned[key];
    });
    refresh();
  }

  function button(text, handler, extraClass) {
    var node = document.createElement("button");
    node.type = "button";
    node.textContent = text;
    if (extraClass) node.className = extraClass;
    node.addEventListener("click", handler);
    return node;
  }

  function swatch(colour) {
    var node = document.createElement("span");
    node.className = "g2-swatch";
    node.style.background = colour;
    return node;
  }

  function drawGroups() {
    var list = byId("groups");
    list.textContent = "";
    var chosen = selectedKeys().length;
    groups.forEach(function (g) {
      var item = document.createElement("li");
      item.dataset.group = g.name;
      item.appendChild(swatch(g.colour));
      var label = document.createElement("strong");
      label.textContent = g.name;
      item.appendChild(label);
      var count = document.createElement("span");
      count.className = "muted group-count";
      count.textContent = members(g.name).length + " samples";
      item.appendChild(count);
      var add = button("Add " + chosen + " selected", function () { assignSelected(g.name); },
        "add-selected");
      add.disabled = chosen === 0;
      item.appendChild(add);
      item.appendChild(button("Remove group", function () { removeGroup(g.name); },
        "secondary remove-group"));
      list.appendChild(item);
    });
  }

  function contrastName(a, b) {
    function quote(name) { return /^[A-Za-z][A-Za-z0-9_.]*$/.test(name) ? name : "`" + name + "`"; }
    return quote(a) + "-" + quote(b);
  }

  function drawContrasts() {
    var select = byId("contrast");
    var keep = select.value;
    select.textContent = "";
    var used = groups.filter(function (g) { return members(g.name).length > 0; });
    for (var i = 0; i < used.length; i++) {
      for (var j = i + 1; j < used.length; j++) {
        var node = document.createElement("option");
        node.value = contrastName(used[i].name, used[j].name);
        node.textContent = used[i].name + " vs " + used[j].name;
        select.appendChild(node);
      }
    }
    if (used.length > 2) {
      var all = document.createElement("option");
      all.value = "";
      all.textContent = "all pairs (moderated F)";
      select.appendChild(all);
    }
    var values = Array.prototype.map.call(select.options, function (o) { return o.value; });
    if (values.indexOf(keep) >= 0) select.value = keep;
    byId("run").disabled = used.length < 2;
  }

  // ---- the samples table --------------------------------------------------------------

  function drawTable() {
    var table = byId("samples");
    table.textContent = "";
    var titled = samples.some(function (s) { return !!s.title; });
    var head = table.createTHead().insertRow();
    ["", "Group", "Sample"].concat(titled ? ["Title"] : [], columns).forEach(function (name) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = name;
      head.appendChild(th);
    });
    var body = table.createTBody();
    samples.forEach(function (s, index) {
      var tr = body.insertRow();
      tr.dataset.sample = s.sample;
      tr.dataset.index = String(index);
      var box = document.createElement("input");
      box.type = "checkbox";
      box.setAttribute("aria-label", "select " + s.sample);
      tr.insertCell().appendChild(box);
      tr.insertCell().className = "group-cell";
      tr.insertCell().textContent = s.sample;
      if (titled) tr.insertCell().textContent = s.title || "";
      columns.forEach(function (c) { tr.insertCell().textContent = s.fields[c] || ""; });
    });
    applyFilter();
  }

  function refreshRows() {
    var rows = byId("samples").tBodies[0];
    if (!rows) return;
    Array.prototype.forEach.call(rows.rows, function (tr) {
      var key = tr.dataset.sample;
      var on = !!selected[key];
      tr.classList.toggle("selected", on);
      tr.cells[0].firstChild.checked = on;
      var cell = tr.cells[1];
      cell.textContent = "";
      var g = groupOf(assigned[key]);
      if (g) {
        var tag = document.createElement("span");
        tag.className = "g2-group-tag";
        tag.style.background = g.colour;
        tag.textContent = g.name;
        cell.appendChild(tag);
      }
    });
    byId("selected-count").textContent = selectedKeys().length + " selected";
  }

  function refresh() {
    refreshRows();
    drawGroups();
    drawContrasts();
  }

  function visible(tr) { return !tr.classList.contains("hidden"); }

  function onRowClick(event) {
    var tr = event.target.closest("tr");
    if (!tr || !tr.dataset.sample) return;
    var index = Number(tr.dataset.index);
    var on = !selected[tr.dataset.sample];
    if (event.shiftKey && lastClicked !== null) {
      var rows = byId("samples").tBodies[0].rows;
      var lo = Math.min(lastClicked, index);
      var hi = Math.max(lastClicked, index);
      for (var i = lo; i <= hi; i++) {
        if (visible(rows[i])) {
          if (on) selected[rows[i].dataset.sample] = true;
          else delete selected[rows[i].dataset.sample];
        }
      }
    } else if (on) {
      selected[tr.dataset.sample] = true;
    } else {
      delete selected[tr.dataset.sample];
    }
    lastClicked = index;
    refreshRows();
    drawGroups();
  }

  function applyFilter() {
    var text = byId("filter").value.trim().toLowerCase();
    var rows = byId("samples").tBodies[0];
    if (!rows) return;
    Array.prototype.forEach.call(rows.rows, function (tr) {
      tr.classList.toggle("hidden", !!text && tr.textContent.toLowerCase().indexOf(text) < 0);
    });
  }

  function fillFields(varying) {
    var select = byId("field");
    select.textContent = "";
    varying.forEach(function (name) {
      var values = {};
      samples.forEach(function (s) { if (s.fields[name]) values[s.fields[name]] = true; });
      var n = Object.keys(values).length;
      if (n < 2 || n > MAX_FIELD_GROUPS || n >= samples.length) return;
      var node = document.createElement("option");
      node.value = name;
      node.textContent = name + " (" + n + " groups)";
      select.appendChild(node);
    });
    byId("field-form").querySelector("button").disabled = select.options.length === 0;
  }

  function groupsFromField(name) {
    groups = [];
    assigned = {};
    selected = {};
    samples.forEach(function (s) {
      var value = s.fields[name];
      if (!value) return;
      if (!groupOf(value)) addGroup(value);
      if (groupOf(value)) assigned[s.sample] = value;
    });
    refresh();
  }

  // ---- running ------------------------------------------------------------------------

  function request(format, extra) {
    var body = sourceParams();
    body.groups = {};
    groups.forEach(function (g) {
      var keys = members(g.name);
      if (keys.length) body.groups[g.name] = keys;
    });
    if (byId("contrast").value) body.contrasts = [byId("contrast").value];
    body.adjust = byId("adjust").value;
    body.log = byId("log").value;
    body.trend = byId("trend").checked;
    body.robust = byId("robust").checked;
    body.format = format;
    Object.keys(extra || {}).forEach(function (k) { body[k] = extra[k]; });
    return body;
  }

  function cell(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "number") return Math.abs(value) < 1e-3 && value !== 0
      ? value.toExponential(2) : String(Math.round(value * 1000) / 1000);
    return String(value);
  }

  function fillTopTable(body) {
    var table = byId("top-table");
    table.textContent = "";
    var names = body.columns;
    var head = table.createTHead().insertRow();
    names.forEach(function (c) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = c;
      head.appendChild(th);
    });
    var tbody = table.createTBody();
    body.table.forEach(function (row) {
      var tr = tbody.insertRow();
      names.forEach(function (c) {
        var td = tr.insertCell();
        td.textContent = cell(row[c]);
        if (typeof row[c] === "number") td.className = "num";
      });
    });
  }

  var lastRun = null;  // the request of the last successful run, for the downloads

  function run() {
    var target = byId("volcano-chart");
    var summary = byId("run-summary");
    var body = request("json", { figure: true, limit: TABLE_ROWS });
    summary.textContent = "Running…";
    summary.classList.remove("error");
    byId("download-tsv").disabled = true;
    byId("download-png").disabled = true;
    return post(body)
      .then(function (response) { return response.json(); })
      .then(function (result) {
        lastRun = body;
        var sizes = result.levels.map(function (name) {
          return name + " (" + members(name).length + ")";
        });
        summary.textContent = Object.keys(result.contrasts).join(", ") + ": " +
          sizes.join(" vs ") + "; " + result.genes_tested + " rows tested, " +
          (result.log2 ? "log2-transformed" : "not transformed") + ", prior df " +
          cell(result.df_prior) + ". The first " + result.table.length + " of " +
          result.rows_total + " rows below.";
        target.textContent = "";
        if (result.figure) {
          window.Plotly.newPlot(target, result.figure.data, result.figure.layout, {
            responsive: true, displaylogo: false,
          });
        }
        fillTopTable(result);
        byId("download-tsv").disabled = false;
        byId("download-png").disabled = !result.figure;
      })
      .catch(function (error) {
        summary.textContent = error.message;
        summary.classList.add("error");
        target.textContent = "";
        byId("top-table").textContent = "";
      });
  }

  function download(format, name) {
    if (!lastRun) return Promise.resolve();
    var body = Object.assign({}, lastRun, { format: format, figure: false });
    return post(body)
      .then(function (response) { return response.blob(); })
      .then(function (blob) {
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = name;
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
      })
      .catch(function (error) {
        byId("run-summary").textContent = error.message;
        byId("run-summary").classList.add("error");
      });
  }

  // ---- loading ------------------------------------------------------------------------

  function load() {
    status("Loading samples…");
    root.dataset.ready = "false";
    var params = new URLSearchParams(sourceParams());
    return getJson(base + "/samples?" + params.toString())
      .then(function (info) {
        samples = info.samples;
        columns = info.columns.filter(function (c) { return c !== "organism" || info.varying.indexOf(c) >= 0; });
        var present = {};
        samples.forEach(function (s) { present[s.sample] = true; });
        Object.keys(assigned).forEach(function (k) { if (!present[k]) delete assigned[k]; });
        selected = {};
        lastClicked = null;
        status(acc + ": " + info.samples_total + " samples with " + info.source.values +
          " values" + (info.source.platform ? " (" + info.source.platform + ")" : "") + ".");
        drawTable();
        fillFields(info.varying);
        refresh();
      })
      .catch(function (error) { status(error.message, true); })
      .then(function () { root.dataset.ready = "true"; });
  }

  byId("samples").addEventListener("click", onRowClick);
  byId("filter").addEventListener("input", applyFilter);
  byId("select-visible").addEventListener("click", function () {
    Array.prototype.forEach.call(byId("samples").tBodies[0].rows, function (tr) {
      if (visible(tr)) selected[tr.dataset.sample] = true;
    });
    refreshRows();
    drawGroups();
  });
  byId("clear-selection").addEventListener("click", function () {
    selected = {};
    refreshRows();
    drawGroups();
  });
  byId("ungroup").addEventListener("click", function () {
    selectedKeys().forEach(function (key) { delete assigned[key]; });
    selected = {};
    refresh();
  });
  byId("new-group-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var problem = addGroup(byId("group-name").value);
    status(problem || "Group defined: select samples, then press its Add button.", !!problem);
    if (!problem) byId("group-name").value = "";
    refresh();
  });
  byId("field-form").addEventListener("submit", function (event) {
    event.preventDefault();
    if (byId("field").value) groupsFromField(byId("field").value);
  });
  byId("run-form").addEventListener("submit", function (event) {
    event.preventDefault();
    run();
  });
  byId("download-tsv").addEventListener("click", function () {
    download("tsv", acc + "_geo2r.tsv");
  });
  byId("download-png").addEventListener("click", function () {
    download("png", acc + "_volcano.png");
  });
  byId("values").addEventListener("change", load);
  if (byId("platform")) byId("platform").addEventListener("change", load);
  load();
})();
