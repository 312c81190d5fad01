/*! Tally counter.js — counts this page view once and shows the numbers.
 *
 * <script src="https://YOUR-TALLY/counter.js" data-site="example.com" async></script>
 * <span data-tally="hits"></span> views, <span data-tally="visitors"></span> visitors
 *
 * Attributes on the script tag: data-site (required), data-key (default: the
 * page path), data-api (default: where counter.js came from), data-api-key
 * (when the site requires a public key), data-mode="read" to show without
 * counting. Elements: data-tally="hits|visitors|today-hits|today-visitors".
 * If the API is down or blocked, the elements stay as they are; nothing throws.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var site = script.getAttribute("data-site");
  if (!site) return;
  var api = script.getAttribute("data-api") || new URL(script.src, location.href).origin;
  var key = script.getAttribute("data-key") || location.pathname;
  var read = script.getAttribute("data-mode") === "read";
  var url = api.replace(/\/$/, "") + "/v1/sites/" + encodeURIComponent(site) +
      (read ? "/counters" : "/hits") + "?key=" + encodeURIComponent(key);
  var headers = {};
  var apiKey = script.getAttribute("data-api-key");
  if (apiKey) headers["x-api-key"] = apiKey;

  function fill(data) {
    var values = {
      "hits": data.hits,
      "visitors": data.visitors,
      "today-hits": data.today && data.today.hits,
      "today-visitors": data.today && data.today.visitors
    };
    var nodes = document.querySelectorAll("[data-tally]");
    for (var i = 0; i < nodes.length; i++) {
      var v = values[nodes[i].getAttribute("data-tally")];
      if (typeof v === "number") nodes[i].textContent = v.toLocaleString();
    }
    document.dispatchEvent(new CustomEvent("tally:counted", { detail: data }));
  }

  try {
    fetch(url, { method: read ? "GET" : "POST", headers: headers, keepalive: true })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) fill(data); })
      .catch(function () { /* the API is down or blocked: leave the page alone */ });
  } catch (e) { /* very old browser: no fetch */ }
})();
