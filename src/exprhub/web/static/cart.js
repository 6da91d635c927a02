/* The dataset cart: series and samples kept in this browser (localStorage), reviewed with
   POST /api/v1/bundles/preview and built with POST /api/v1/bundles (a job). */
"use strict";

var CART_KEY = "exprhub.cart";

function cartLoad() {
  try {
    var cart = JSON.parse(window.localStorage.getItem(CART_KEY) || "{}");
    return { series: cart.series || [], samples: cart.samples || [] };
  } catch (e) {
    return { series: [], samples: [] };
  }
}

function cartSave(cart) {
  window.localStorage.setItem(CART_KEY, JSON.stringify(cart));
  cartCount();
}

function cartCount() {
  var link = document.getElementById("cart-link");
  if (!link) return;
  var cart = cartLoad();
  var n = cart.series.length + cart.samples.length;
  link.textContent = n ? "Cart (" + n + ")" : "Cart";
}

function setupCartButtons() {
  document.querySelectorAll("button.cart-add").forEach(function (button) {
    var kind = button.dataset.cartKind;
    var acc = button.dataset.accession;
    function show() {
      var inCart = cartLoad()[kind].indexOf(acc) !== -1;
      button.textContent = inCart ? "In the cart ✓" : "Add to dataset cart";
      button.disabled = inCart;
    }
    button.hidden = false;
    show();
    button.addEventListener("click", function () {
      var cart = cartLoad();
      if (cart[kind].indexOf(acc) === -1) cart[kind].push(acc);
      cartSave(cart);
      show();
    });
  });
}

function cartOptions() {
  var form = document.getElementById("cart-options");
  return {
    aggregate: form.elements.aggregate.value,
    scale: form.elements.scale.value,
    quantile_normalize: form.elements.quantile_normalize.checked,
    format: form.elements.format.value
  };
}

function cartRow(cells) {
  var tr = document.createElement("tr");
  cells.forEach(function (text) {
    var td = document.createElement("td");
    td.textContent = text;
    tr.appendChild(td);
  });
  return tr;
}

function renderCart() {
  var cart = cartLoad();
  var list = document.getElementById("cart-items");
  list.textContent = "";
  ["series", "samples"].forEach(function (kind) {
    cart[kind].forEach(function (acc) {
      var li = document.createElement("li");
      var link = document.createElement("a");
      link.href = "/acc/" + encodeURIComponent(acc);
      link.textContent = acc;
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "cart-remove";
      remove.textContent = "Remove";
      remove.addEventListener("click", function () {
        var now = cartLoad();
        now[kind] = now[kind].filter(function (a) { return a !== acc; });
        cartSave(now);
        renderCart();
      });
      li.appendChild(link);
      li.appendChild(document.createTextNode(" (" + (kind === "series" ? "series" : "sample") + ") "));
      li.appendChild(remove);
      list.appendChild(li);
    });
  });
  var empty = cart.series.length + cart.samples.length === 0;
  document.getElementById("cart-empty").hidden = !empty;
  document.getElementById("cart-review").disabled = empty;
  document.getElementById("cart-build").disabled = empty;
}

function postJson(url, body) {
  return fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body)
  }).then(function (response) {
    return response.json().then(function (data) {
      if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
      return data;
    });
  });
}

function review() {
  var cart = cartLoad();
  var options = cartOptions();
  var out = document.getElementById("cart-review-out");
  postJson("/api/v1/bundles/preview", {
    series: cart.series, samples: cart.samples,
    aggregate: options.aggregate, quantile_normalize: options.quantile_normalize
  }).then(function (data) {
    var aggregates = document.querySelector("#cart-aggregates tbody");
    var filtered = document.querySelector("#cart-filtered tbody");
    aggregates.textContent = "";
    filtered.textContent = "";
    Object.keys(data.aggregates).forEach(function (key) {
      aggregates.appendChild(cartRow([key, data.aggregates[key].length + ": " + data.aggregates[key].join(", ")]));
    });
    Object.keys(data.filtered_samples).forEach(function (key) {
      filtered.appendChild(cartRow([key, data.filtered_samples[key]]));
    });
    if (!Object.keys(data.filtered_samples).length) filtered.appendChild(cartRow(["none", "every sample can be delivered"]));
    var notes = [];
    var several = Object.keys(data.samples_in_several_series);
    if (several.length) notes.push(several.length + " samples are in several selected series: with aggregate experiment they appear in each series' matrix, otherwise once.");
    if (data.not_in_hub.length) notes.push("Not in the hub: " + data.not_in_hub.join(", ") + ".");
    document.getElementById("cart-notes").textContent = notes.join(" ");
    out.hidden = false;
  }).catch(function (error) {
    document.getElementById("cart-notes").textContent = "Review failed: " + error.message;
    out.hidden = false;
  });
}

function build() {
  var cart = cartLoad();
  var body = cartOptions();
  body.series = cart.series;
  body.samples = cart.samples;
  var status = document.getElementById("cart-status");
  var download = document.getElementById("cart-download");
  document.getElementById("cart-build-out").hidden = false;
  download.hidden = true;
  status.textContent = "Submitting…";
  postJson("/api/v1/bundles", body).then(function (job) {
    function poll() {
      fetch(job.status_url).then(function (r) { return r.json(); }).then(function (state) {
        if (state.status === "done") {
          var b = state.bundle;
          status.textContent = "Built " + b.file + " (" + b.size + " bytes, sha256 " + b.sha256.slice(0, 16) + "…).";
          download.href = job.download_url;
          download.textContent = "Download " + b.file;
          download.hidden = false;
        } else if (state.status === "failed") {
          status.textContent = "The build failed: " + state.error;
        } else {
          status.textContent = "Building (" + state.status + ")…";
          window.setTimeout(poll, 500);
        }
      });
    }
    poll();
  }).catch(function (error) { status.textContent = "Could not submit: " + error.message; });
}

function setupCartPage() {
  if (!document.getElementById("cart")) return;
  renderCart();
  document.getElementById("cart-review").addEventListener("click", review);
  document.getElementById("cart-build").addEventListener("click", build);
  document.getElementById("cart-clear").addEventListener("click", function () {
    cartSave({ series: [], samples: [] });
    renderCart();
  });
}

document.addEventListener("DOMContentLoaded", function () {
  cartCount();
  setupCartButtons();
  setupCartPage();
});
