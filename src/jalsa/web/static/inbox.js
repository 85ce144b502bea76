/* The inbox queue refreshes itself every 15 s (data-refresh on #inbox-live): the same page is
   fetched again and its list swapped in, unless someone is using the list (a focused control,
   an opened "more"), the tab is hidden, or the session ended. Without this script the page is
   the same, only reloaded by hand. */
(function () {
  "use strict";

  var live = document.getElementById("inbox-live");
  if (!live || !window.fetch || !window.DOMParser) { return; }
  var every = Number(live.getAttribute("data-refresh") || 15) * 1000;
  var busy = false;

  function inUse() {
    var active = document.activeElement;
    return (active && active !== document.body && live.contains(active)) ||
      live.querySelector("details[open]") !== null;
  }

  function refresh() {
    if (busy || document.hidden || inUse()) { return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        var path = new URL(response.url).pathname;
        if (!response.ok || path !== window.location.pathname) { throw new Error("stopped"); }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("inbox-live");
        if (fresh && !inUse()) {
          live.innerHTML = fresh.innerHTML;
          live.setAttribute("data-refreshed", new Date().toISOString());
        }
      })
      .catch(function () { /* the next round tries again; the page still works by hand */ })
      .then(function () { busy = false; });
  }

  window.setInterval(refresh, every);
})();
