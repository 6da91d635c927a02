/* exprhub pages: small progressive enhancements (everything works without this file). */
"use strict";

function setupTableFilters() {
  document.querySelectorAll("input.table-filter").forEach(function (input) {
    var table = document.getElementById(input.dataset.target);
    if (!table) return;
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      table.querySelectorAll("tbody tr").forEach(function (row) {
        row.hidden = needle !== "" && row.textContent.toLowerCase().indexOf(needle) === -1;
      });
    });
  });
}

function el(tag, attrs, children) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) {
    if (k === "text") node.textContent = attrs[k];
    else node.setAttribute(k, attrs[k]);
  });
  (children || []).forEach(function (c) { if (c) node.appendChild(c); });
  return node;
}

function renderOperation(path, method, op) {
  var params = (op.parameters || []).filter(function (p) { return p.in === "path" || p.in === "query"; });
  var form = el("form", { "class": "try" });
  params.forEach(function (p) {
    var id = "p-" + (op.operationId || path) + "-" + p.name;
    var label = el("label", { "for": id, text: p.name + (p.required ? " *" : "") });
    var input = el("input", { id: id, name: p.name, "data-in": p.in, placeholder: (p.schema && p.schema.default !== undefined) ? String(p.schema.default) : "" });
    form.appendChild(el("div", { "class": "param" }, [label, input,
      el("span", { "class": "muted", text: p.description || "" })]));
  });
  var out = el("pre", { "class": "response", hidden: "" });
  var body = null;
  if (op.requestBody) {
    var bodyId = "b-" + (op.operationId || path);
    body = el("textarea", { id: bodyId, rows: "4", "class": "body",
      "aria-label": "JSON request body" });
    body.value = '{"kind": "export", "params": {"accession": "", "format": "soft"}}';
    form.appendChild(el("div", { "class": "param" }, [
      el("label", { "for": bodyId, text: "JSON body" }), body]));
  }
  if (method === "get" || method === "post") {
    form.appendChild(el("button", { type: "submit", text: "Send" }));
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var url = path, query = new URLSearchParams();
      form.querySelectorAll("input").forEach(function (i) {
        if (!i.value) return;
        if (i.dataset.in === "path") url = url.replace("{" + i.name + "}", encodeURIComponent(i.value));
        else query.append(i.name, i.value);
      });
      var full = url + (query.toString() ? "?" + query.toString() : "");
      var verb = method.toUpperCase();
      var init = { method: verb };
      if (body) init = { method: verb, body: body.value, headers: { "Content-Type": "application/json" } };
      out.hidden = false;
      out.textContent = verb + " " + full + " …";
      fetch(full, init).then(function (r) {
        return r.text().then(function (t) {
          try { t = JSON.stringify(JSON.parse(t), null, 2); } catch (e) { /* not JSON */ }
          out.textContent = verb + " " + full + " → " + r.status + "\n\n" + t.slice(0, 20000);
        });
      });
    });
  }
  return el("details", { "class": "card operation" }, [
    el("summary", {}, [el("span", { "class": "method method-" + method, text: method.toUpperCase() }),
      el("code", { text: path }), el("span", { "class": "muted", text: " " + (op.summary || "") })]),
    el("p", { text: op.description || "" }), form, out]);
}

function setupApiDocs() {
  var root = document.getElementById("api-docs");
  if (!root) return;
  fetch(root.dataset.openapi).then(function (r) { return r.json(); }).then(function (spec) {
    root.textContent = "";
    var groups = {};
    Object.keys(spec.paths).forEach(function (path) {
      Object.keys(spec.paths[path]).forEach(function (method) {
        var op = spec.paths[path][method];
        var tag = (op.tags && op.tags[0]) || "Other";
        (groups[tag] = groups[tag] || []).push(renderOperation(path, method, op));
      });
    });
    Object.keys(groups).forEach(function (tag) {
      root.appendChild(el("h2", { text: tag }));
      groups[tag].forEach(function (n) { root.appendChild(n); });
    });
  }).catch(function (e) { root.textContent = "Could not load the OpenAPI document: " + e; });
}

document.addEventListener("DOMContentLoaded", function () {
  setupTableFilters();
  setupApiDocs();
});
