/* A campaign's page follows its progress: every few seconds (data-refresh on
   #campaign-progress) it asks /api/sms/campaigns/SLUG and updates the status, the bar, the
   counts and the buttons that fit the new status. It stops when the campaign is done or
   cancelled, or when the session ended. Without this script the page shows the same, as of
   its last load. */
(function () {
  "use strict";

  var box = document.getElementById("campaign-progress");
  if (!box || !window.fetch) { return; }
  var every = Number(box.getAttribute("data-refresh") || 0) * 1000;
  if (!every) { return; }
  var slug = box.getAttribute("data-slug");
  var FINAL = { done: true, cancelled: true };
  var number = new Intl.NumberFormat("en");
  var timer = null;

  function text(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value; }
  }

  function cell(row, value, className) {
    var td = document.createElement("td");
    td.textContent = value;
    if (className) { td.className = className; }
    row.appendChild(td);
  }

  function show(c) {
    box.setAttribute("data-status", c.status);
    box.setAttribute("data-settled", c.settled);
    var badge = document.getElementById("campaign-status");
    if (badge) { badge.textContent = c.status; badge.className = "badge status-" + c.status; }
    var bar = document.getElementById("progress-bar");
    if (bar) { bar.max = c.recipients || 1; bar.value = c.settled; }
    text("progress-settled", number.format(c.settled));
    text("progress-recipients", c.recipients === null ? "—" : number.format(c.recipients));
    text("progress-waiting", number.format(c.waiting));
    var body = document.querySelector("#status-table tbody");
    if (body) {
      body.textContent = "";
      c.counts.forEach(function (row) {
        var tr = document.createElement("tr");
        tr.setAttribute("data-status", row.status);
        cell(tr, row.status);
        cell(tr, number.format(row.messages), "num");
        cell(tr, row.meaning, "prose");
        body.appendChild(tr);
      });
    }
    var list = document.getElementById("unsent-list");
    if (list) {
      list.textContent = "";
      c.unsent.forEach(function (row) {
        var li = document.createElement("li");
        li.textContent = row.status + ": " + row.reason + " — " + number.format(row.messages);
        list.appendChild(li);
      });
      if (!c.unsent.length) {
        var none = document.createElement("li");
        none.className = "muted";
        none.textContent = "none";
        list.appendChild(none);
      }
    }
    document.querySelectorAll("#campaign-actions form[data-when]").forEach(function (form) {
      form.hidden = form.getAttribute("data-when").split(" ").indexOf(c.status) < 0;
    });
    var send = document.getElementById("send-button");
    if (send) { send.textContent = c.status === "paused" ? "Continue sending" : "Send"; }
    if (c.sender) { text("sender-status", "Sender: " + c.sender); }
  }

  function poll() {
    fetch("/api/sms/campaigns/" + encodeURIComponent(slug), {
      credentials: "same-origin", headers: { Accept: "application/json" }
    })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) { throw new Error("stop"); }
        if (!response.ok) { return null; }
        return response.json();
      })
      .then(function (c) {
        if (c) { show(c); }
        if (c && FINAL[c.status]) { return; }
        timer = window.setTimeout(poll, every);
      })
      .catch(function (err) {
        if (err && err.message === "stop") { return; }
        timer = window.setTimeout(poll, every);  /* the network may come back */
      });
  }

  if (!FINAL[box.getAttribute("data-status")]) { timer = window.setTimeout(poll, every); }
})();
