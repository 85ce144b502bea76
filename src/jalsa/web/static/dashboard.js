/* The live dashboard: history from the timeline API, then the event's Server-Sent Events.
   Every point is keyed by (stream, metric, time), so history, live messages and the replay after
   a reconnect can overlap without counting anything twice. No inline script: the page hands
   over its data in <script type="application/json" id="dashboard-data">. */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var tz = data.timezone;
  var slug = encodeURIComponent(data.slug);
  var streams = {};
  data.streams.forEach(function (s) { streams[s.id] = s; });

  var numberFormat = new Intl.NumberFormat("en");
  var compactFormat = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });
  var timeFormat = new Intl.DateTimeFormat("en-GB", {
    timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
  var clockFormat = new Intl.DateTimeFormat("en-GB", {
    timeZone: tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  var usdFormat = new Intl.NumberFormat("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  function fmtNum(v) { return v === null || v === undefined ? "—" : numberFormat.format(v); }
  function fmtTime(iso) { return iso ? timeFormat.format(new Date(iso)) : "—"; }
  function seconds(iso) { return Date.parse(iso) / 1000; }
  function byId(id) { return document.getElementById(id); }

  var COLORS = { youtube: "#c4302b", facebook: "#1565c0", x: "#222222", instagram: "#8e24aa" };

  // ---- series and charts ------------------------------------------------------------------

  var series = {};  // "streamId:metric" -> {xs, ys, chart, el, stream, peak}
  var pointCount = 0;
  var dirty = {};
  var frame = null;

  function key(streamId, metric) { return streamId + ":" + metric; }

  function peakPlugin(entry) {
    return {
      hooks: {
        draw: [function (u) {
          var p = entry.peak;
          if (!p || !entry.xs.length) { return; }
          var x = u.valToPos(p.t, "x", true);
          var y = u.valToPos(p.v, "y", true);
          var box = u.bbox;
          if (x < box.left - 1 || x > box.left + box.width + 1) { return; }
          var ctx = u.ctx;
          var r = 5 * devicePixelRatio;
          ctx.save();
          ctx.textAlign = "left";
          ctx.textBaseline = "alphabetic";
          ctx.fillStyle = "#ffffff";
          ctx.strokeStyle = "#000000";
          ctx.lineWidth = 2 * devicePixelRatio;
          ctx.beginPath();
          ctx.arc(x, y, r, 0, 2 * Math.PI);
          ctx.fill();
          ctx.stroke();
          var text = "peak " + fmtNum(p.v) + " · " + timeFormat.format(new Date(p.t * 1000));
          ctx.font = (12 * devicePixelRatio) + "px system-ui, sans-serif";
          var w = ctx.measureText(text).width;
          var tx = Math.min(Math.max(x - w / 2, box.left), box.left + box.width - w);
          var ty = y - r - 6 * devicePixelRatio;
          if (ty < box.top + 12 * devicePixelRatio) { ty = y + r + 14 * devicePixelRatio; }
          ctx.fillStyle = "rgba(255,255,255,0.85)";
          ctx.fillRect(tx - 3, ty - 12 * devicePixelRatio, w + 6, 15 * devicePixelRatio);
          ctx.fillStyle = "#000000";
          ctx.fillText(text, tx, ty);
          ctx.restore();
        }],
      },
    };
  }

  function makeChart(el) {
    var stream = streams[el.getAttribute("data-stream-id")];
    if (!stream) { return; }
    var metric = el.getAttribute("data-metric");
    var entry = { xs: [], ys: [], chart: null, el: el, stream: stream, metric: metric, peak: null };
    series[key(stream.id, metric)] = entry;
    var color = COLORS[stream.platform] || "#333333";
    var bars = metric === "x.posts_per_minute";
    var opts = {
      width: Math.max(200, el.clientWidth),
      height: 200,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), tz); },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(10, max * 1.15)]; } } },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      series: [
        { value: function (u, v) { return v === null ? "—" : timeFormat.format(new Date(v * 1000)); } },
        {
          label: stream.unit,
          stroke: color,
          width: 2,
          fill: bars ? color + "aa" : color + "22",
          points: { show: false },
          paths: bars && uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.8, 40] }) : undefined,
          value: function (u, v) { return fmtNum(v); },
        },
      ],
      axes: [
        {
          stroke: "#333333",
          grid: { stroke: "#e3e3e3" },
          values: function (u, splits) {
            return splits.map(function (ts) { return clockFormat.format(new Date(ts * 1000)); });
          },
        },
        {
          stroke: "#333333",
          grid: { stroke: "#e3e3e3" },
          size: 56,
          values: function (u, vals) { return vals.map(function (v) { return compactFormat.format(v); }); },
        },
      ],
      plugins: [peakPlugin(entry)],
    };
    entry.chart = new uPlot(opts, [[], []], el);
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        var w = Math.max(200, el.clientWidth);
        if (entry.chart && Math.abs(entry.chart.width - w) > 1) {
          entry.chart.setSize({ width: w, height: 200 });
        }
      }).observe(el);
    }
  }

  /* Insert a point in time order; the same time again replaces the value (an X count
     bucket may be revised). True when the point is new. */
  function addPoint(streamId, metric, iso, value) {
    var entry = series[key(streamId, metric)];
    if (!entry) { return false; }
    var t = seconds(iso);
    var xs = entry.xs;
    var lo = 0;
    var hi = xs.length;
    if (hi && xs[hi - 1] < t) { lo = hi; } else {
      while (lo < hi) {
        var mid = (lo + hi) >> 1;
        if (xs[mid] < t) { lo = mid + 1; } else { hi = mid; }
      }
    }
    dirty[key(streamId, metric)] = true;
    if (lo < xs.length && xs[lo] === t) {
      entry.ys[lo] = value;
      return false;
    }
    xs.splice(lo, 0, t);
    entry.ys.splice(lo, 0, value);
    pointCount += 1;
    return true;
  }

  function setPeak(entry, value, iso) {
    entry.peak = value === null || value === undefined ? null : { v: value, t: seconds(iso) };
    var note = document.querySelector('.peak[data-peak-for="' + entry.stream.id + '"]');
    if (!note) { return; }
    var busiest = entry.metric === "x.posts_per_minute";
    if (!entry.peak) {
      note.textContent = busiest ? "" : "Peak: — (from our samples)";
      return;
    }
    note.textContent = (busiest ? "Busiest minute: " : "Peak: ") + fmtNum(value) + " " +
      (entry.stream.unit || "") + " at " + fmtTime(iso) + " (from our samples)";
  }

  function busiestMinute(entry) {
    var best = -1;
    for (var i = 0; i < entry.ys.length; i++) {
      if (best < 0 || entry.ys[i] > entry.ys[best]) { best = i; }
    }
    if (best >= 0) { setPeak(entry, entry.ys[best], new Date(entry.xs[best] * 1000).toISOString()); }
  }

  /* The points with a null wherever readings stopped for more than three poll intervals
     (a blocked platform, a stopped tracker), so the chart shows a gap instead of a line
     through time nobody measured. */
  function withGaps(entry) {
    var gap = 3 * (entry.stream.interval || 60);
    var xs = [];
    var ys = [];
    for (var i = 0; i < entry.xs.length; i++) {
      if (i > 0 && entry.xs[i] - entry.xs[i - 1] > gap) {
        xs.push((entry.xs[i] + entry.xs[i - 1]) / 2);
        ys.push(null);
      }
      xs.push(entry.xs[i]);
      ys.push(entry.ys[i]);
    }
    return [xs, ys];
  }

  function redrawSoon() {
    if (frame !== null) { return; }
    frame = requestAnimationFrame(function () {
      frame = null;
      Object.keys(dirty).forEach(function (k) {
        var entry = series[k];
        if (entry.metric === "x.posts_per_minute") { busiestMinute(entry); }
        entry.chart.setData(withGaps(entry));
      });
      dirty = {};
      var counter = byId("point-count");
      counter.textContent = fmtNum(pointCount);
      counter.setAttribute("data-points", String(pointCount));
    });
  }

  // ---- the health table and the combined figure --------------------------------------------

  var states = {};  // stream id -> latest stream snapshot

  function spendText(stream, usage) {
    if (!usage) { return "—"; }
    var value = usage[stream.spend_field];
    if (stream.spend_field === "cost_usd") { return "US$ " + usdFormat.format(value); }
    return fmtNum(value) + " " + stream.spend_unit;
  }

  function nowText(stream, s) {
    if (stream.audience_metric) {
      if (s.now !== null && s.now !== undefined) { return fmtNum(s.now) + " " + stream.unit; }
      return s.status === "not_live" ? "not live" : "no fresh reading";
    }
    var parts = [];
    Object.keys(s.latest || {}).forEach(function (name) {
      var m = data.metrics[name];
      parts.push(fmtNum(s.latest[name].value) + " " + (m ? m.unit : name));
    });
    var latest = parts.join(" · ");
    if (stream.no_audience) { return stream.no_audience + (latest ? " · " + latest : ""); }
    return latest || "—";
  }

  function setCell(row, cls, text) {
    var cell = row.querySelector("." + cls);
    if (cell && cell.textContent !== text) { cell.textContent = text; }
    return cell;
  }

  function updateRow(s) {
    var stream = streams[s.stream_id];
    if (!stream) { return; }
    states[s.stream_id] = s;
    var row = document.querySelector('#streams-table tr[data-stream-id="' + s.stream_id + '"]');
    if (row) {
      var status = data.status_text[s.status] || s.status;
      if (s.detail && s.status !== "ok") { status += " — " + s.detail; }
      var cell = setCell(row, "status", status);
      cell.setAttribute("data-status", s.status);
      cell.className = "status " + (s.status === "ok" ? "good" : s.status === "pending" || s.status === "not_live" ? "neutral" : "bad");
      setCell(row, "now", nowText(stream, s));
      setCell(row, "peak-cell", stream.audience_metric
        ? (s.peak === null ? "—" : fmtNum(s.peak) + " at " + fmtTime(s.peak_at))
        : "n/a");
      setCell(row, "last-poll", fmtTime(s.last_poll_at));
      setCell(row, "errors", fmtNum(s.errors));
      setCell(row, "spent", spendText(stream, s.spent));
      setCell(row, "forecast", spendText(stream, s.forecast));
    }
    if (stream.audience_metric) {
      var entry = series[key(stream.id, stream.audience_metric)];
      if (entry) {
        setPeak(entry, s.peak, s.peak_at);
        dirty[key(stream.id, stream.audience_metric)] = true;
      }
    }
    quotaCheck();
  }

  function quotaCheck() {
    var units = 0;
    Object.keys(states).forEach(function (id) {
      if (streams[id] && streams[id].kind === "youtube" && states[id].forecast) {
        units += states[id].forecast.quota_units;
      }
    });
    var warning = byId("quota-warning");
    var over = units > data.youtube_daily_quota;
    warning.hidden = !over;
    if (over) {
      warning.textContent = "YouTube forecast: " + fmtNum(units) + " quota units by the end, more than the daily quota of " +
        fmtNum(data.youtube_daily_quota) + ". Raise JALSA_YOUTUBE_INTERVAL or readings will stop.";
    }
  }

  function names(ids) {
    return ids.map(function (id) { return streams[id] ? streams[id].label : "stream " + id; }).join(", ");
  }

  function showCombined(value, partial, at, stale, notLive) {
    var el = byId("combined-now");
    if (value === null || value === undefined) {
      var allNotLive = notLive.length > 0 && stale.length === 0;
      el.textContent = allNotLive ? "no stream live" : "unknown";
    } else {
      el.textContent = fmtNum(value);
    }
    el.setAttribute("data-value", value === null || value === undefined ? "" : String(value));
    byId("combined-at").textContent = at ? "as of " + fmtTime(at) + " (" + tz + ")" : "";
    var warning = byId("combined-warning");
    var waiting = stale.filter(function (id) { return states[id] && states[id].status === "pending"; });
    var missing = stale.filter(function (id) { return waiting.indexOf(id) < 0; });
    warning.hidden = !partial;
    if (partial && waiting.length && !missing.length) {
      warning.textContent = "Waiting for the first reading of " + names(waiting) + ".";
    } else if (partial) {
      warning.textContent = "Partial: " + (missing.length ? names(missing) : "some streams") +
        " had no fresh reading, so " + (missing.length === 1 ? "its" : "their") +
        " audience is not in the sum — the real sum is higher.";
    }
  }

  function staleNow() {
    var stale = [];
    var notLive = [];
    Object.keys(streams).forEach(function (id) {
      var stream = streams[id];
      var s = states[id];
      if (!stream.audience_metric || !s) { return; }
      if (s.status === "not_live") { notLive.push(Number(id)); } else if (s.now === null) { stale.push(Number(id)); }
    });
    return { stale: stale, notLive: notLive };
  }

  function showPeakOfSum(peak) {
    byId("peak-of-sum").textContent = peak ? fmtNum(peak.value) : "—";
    byId("peak-of-sum-at").textContent = peak ? "at " + fmtTime(peak.at) : "";
  }

  function applySnapshot(snap) {
    (snap.streams || []).forEach(updateRow);
    var c = snap.combined;
    showCombined(c.value, c.partial, snap.at, c.stale || [], c.not_live || []);
    showPeakOfSum(snap.peak_of_sum);
    redrawSoon();
  }

  var lastPollAt = Date.now();

  function applyPoll(message) {
    lastPollAt = Date.now();
    byId("quiet-warning").hidden = true;
    var s = message.stream;
    updateRow(s);
    var stream = streams[s.stream_id];
    if (stream && stream.chart_metric) {
      (message.samples || []).forEach(function (sample) {
        if (sample.metric === stream.chart_metric) {
          addPoint(s.stream_id, sample.metric, sample.at, sample.value);
        }
      });
    }
    var known = staleNow();
    var c = message.combined;
    showCombined(c.value, c.partial, c.at, c.partial ? known.stale : [], known.notLive);
    showPeakOfSum(message.peak_of_sum);
    redrawSoon();
  }

  // ---- history and the live connection -----------------------------------------------------

  function loadMetric(metric, since) {
    var url = "/api/events/" + slug + "/timeline?metric=" + encodeURIComponent(metric) +
      (since ? "&since=" + encodeURIComponent(since) : "");
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) { throw new Error("timeline: HTTP " + r.status); }
        return r.json();
      })
      .then(function (body) {
        var last = null;
        body.series.forEach(function (one) {
          one.points.forEach(function (p) {
            addPoint(one.stream_id, one.metric, p[0], p[1]);
            if (last === null || p[0] > last) { last = p[0]; }
          });
        });
        redrawSoon();
        if (body.truncated && last) { return loadMetric(metric, last); }
        return null;
      });
  }

  function loadHistory() {
    var wanted = {};
    Object.keys(series).forEach(function (k) { wanted[series[k].metric] = true; });
    Object.keys(wanted).forEach(function (metric) {
      loadMetric(metric, null).catch(function (err) {
        // The live points still arrive; a reload fetches the history again.
        if (window.console) { console.warn(err); }
      });
    });
  }

  var conn = byId("conn");
  var source = null;
  var lastEventId = null;
  var historyLoaded = false;

  function setConn(state, text) {
    conn.setAttribute("data-state", state);
    conn.textContent = text;
  }

  function remember(e) {
    if (e.lastEventId) {
      lastEventId = e.lastEventId;
      conn.setAttribute("data-last-event-id", lastEventId);
    }
  }

  function connect() {
    var url = "/api/events/" + slug + "/stream" + (lastEventId ? "?after=" + encodeURIComponent(lastEventId) : "");
    source = new EventSource(url);
    source.addEventListener("open", function () { setConn("live", "live"); });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. a proxy answered with an error): start again ourselves,
        // from the last message we saw.
        setConn("reconnecting", "reconnecting…");
        source.close();
        setTimeout(connect, 3000);
      } else {
        setConn("reconnecting", "reconnecting…");
      }
    });
    source.addEventListener("snapshot", function (e) {
      remember(e);
      applySnapshot(JSON.parse(e.data));
      // History after the first snapshot: everything stored before it is in the timeline,
      // everything after it arrives as poll messages; overlaps are merged by time.
      if (!historyLoaded) {
        historyLoaded = true;
        loadHistory();
      }
    });
    source.addEventListener("poll", function (e) {
      remember(e);
      applyPoll(JSON.parse(e.data));
    });
  }

  var lastKick = 0;

  setInterval(function () {
    var quiet = (Date.now() - lastPollAt) / 1000;
    if (quiet > data.quiet_after_seconds && conn.getAttribute("data-state") === "live") {
      if ((Date.now() - Math.max(lastPollAt, lastKick)) / 1000 > data.quiet_after_seconds) {
        // A connection can stay open while its feed is gone (the server rebuilt the event's
        // feed after an edit): open a fresh one from the last message seen; nothing is lost.
        lastKick = Date.now();
        source.close();
        connect();
      }
      var warning = byId("quiet-warning");
      warning.hidden = false;
      var spell = quiet < 120 ? Math.round(quiet) + " s" : Math.round(quiet / 60) + " min";
      warning.textContent = "No new readings for " + spell + ": the figures above may be old. Is the tracker running? Has the event ended?";
    }
  }, 5000);

  document.querySelectorAll(".chart[data-stream-id]").forEach(makeChart);
  if (data.snapshot) { applySnapshot(data.snapshot); }
  connect();
})();
