/*! Tally counter.js — counts this page view once and shows the numbers.
 *
 * <script src="https://YOUR-TALLY/counter.js" data-site="example.com" async></script>
 * <span data-tally="hits"></span> views · <span data-tally="visitors"></span> visitors
 *
 * Script attributes: data-site (required); data-key (default: the page path);
 * data-api (default: where counter.js came from); data-api-key (the site's
 * public key, when it requires one); data-mode="read" to show without counting.
 * Elements: data-tally="hits|visitors|today-hits|today-visitors", filled with
 * the number in the reader's locale; each also gets data-tally-state="ready"
 * or "error". The "tally:counted" event on document carries the answer.
 * If the API is down or blocked, the elements keep their content and nothing
 * throws. A prerendered page is counted only when it is actually shown.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var attr = function (name) { return script.getAttribute("data-" + name); };
  var site = attr("site");
  if (!site) return;
  var api = (attr("api") || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var key = attr("key") || location.pathname;
  var read = attr("mode") === "read";
  var url = api + "/v1/sites/" + encodeURIComponent(site) +
      (read ? "/counters" : "/hits") + "?key=" + encodeURIComponent(key);
  var headers = {};
  if (attr("api-key")) headers["x-api-key"] = attr("api-key");

  // Two copies of the snippet on one page still count the view once.
  var seen = window.__tally = window.__tally || {};
  var id = url + (read ? "" : "#hit");
  if (seen[id]) return;
  seen[id] = 1;

  function fill(data, state) {
    var values = data && {
      "hits": data.hits,
      "visitors": data.visitors,
      "today-hits": data.today && data.today.hits,
      "today-visitors": data.today && data.today.visitors
    };
    var nodes = document.querySelectorAll("[data-tally]");
    for (var i = 0; i < nodes.length; i++) {
      var v = values && values[nodes[i].getAttribute("data-tally")];
      if (typeof v === "number") nodes[i].textContent = v.toLocaleString();
      nodes[i].setAttribute("data-tally-state", typeof v === "number" ? state : "error");
    }
    if (data) document.dispatchEvent(new CustomEvent("tally:counted", { detail: data }));
  }

  function whenReady(f) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", f);
    else f();
  }

  function send() {
    var options = { method: read ? "GET" : "POST", headers: headers, keepalive: true, credentials: "omit" };
    if (window.AbortController) {
      var abort = new AbortController();
      options.signal = abort.signal;
      setTimeout(function () { abort.abort(); }, 10000);
    }
    fetch(url, options)
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        whenReady(function () { fill(data && typeof data.hits === "number" ? data : null, "ready"); });
      })
      .catch(function () { whenReady(function () { fill(null); }); });
  }

  try {
    if (document.prerendering) {
      document.addEventListener("prerenderingchange", send, { once: true });
    } else {
      send();
    }
  } catch (e) { /* a very old browser (no fetch): leave the page alone */ }
})();
