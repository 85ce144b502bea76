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
          incrs: TIME_INCRS,
          values: timeTicks,
        },
        {
          stroke: "#333333",
          grid: { stroke: "#e3e3e3" },
          size: 56,
          values: function (u, vals) { return vals.map(function (v) { return compactFormat.format(v); }); },
        },
      ],
      plugins: [peakPlugin(entry), bandsPlugin(stream.platform)],
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

  // ---- the conversation: posts, hashtags and spikes, fetched every 30 s ------------------------
  /* The figures come from the conversation API, which computes them again only when new
     posts were collected; a failed refresh keeps what is on screen and says so. */

  var CONVERSATION_EVERY = 30000;
  var TAG_COLORS = ["#0b5d3b", "#c4302b", "#1565c0", "#8e24aa", "#b25e00"];
  var conversation = byId("conversation");
  var conversationChart = null;
  var conversationTags = "";
  var conversationAt = 0;
  var conversationTimer = null;
  var conversationBusy = false;
  var decimalFormat = new Intl.NumberFormat("en", { minimumFractionDigits: 1, maximumFractionDigits: 1 });

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  /* A hashtag or any text that may be Urdu: isolated, its direction taken from its own
     first letter, so the '#' stays at the start of the word on either side. */
  function bidi(text, cls) {
    var attrs = { dir: "auto" };
    if (cls) { attrs["class"] = cls; }
    return el("bdi", attrs, text);
  }

  function clock(epoch) { return clockFormat.format(new Date(epoch * 1000)); }

  /* Labels of a time axis: with seconds when the ticks are less than a minute apart (a short
     chart), or one minute would be labelled twice ("20:00 20:00 20:01 20:01"); ticks are whole
     seconds (TIME_INCRS), so a second is never labelled twice either. The labels are also left on the chart's element
     for the browser tests (they are drawn on a canvas). */
  var TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
    21600, 43200, 86400];  /* seconds: no ticks between whole seconds */

  function timeTicks(u, splits, axisIdx, space, incr) {
    var format = incr < 60 ? timeFormat : clockFormat;
    var labels = splits.map(function (ts) { return format.format(new Date(ts * 1000)); });
    u.root.setAttribute("data-x-ticks", labels.join("|"));
    return labels;
  }

  function setText(id, text) { byId(id).textContent = text || ""; }

  /* Columns for uPlot, with a null between minutes that are not next to each other, so a
     minute without any of these hashtags is a gap rather than a line through it. */
  function volumeColumns(volume) {
    var xs = [];
    var ys = volume.series.map(function () { return []; });
    volume.epochs.forEach(function (t, i) {
      if (i > 0 && t - volume.epochs[i - 1] > 60) {
        xs.push(t - 30);
        ys.forEach(function (col) { col.push(null); });
      }
      xs.push(t);
      volume.series.forEach(function (s, k) { ys[k].push(s.posts[i]); });
    });
    return [xs].concat(ys);
  }

  function drawVolume(volume) {
    var box = byId("conversation-chart");
    var tags = volume.series.map(function (s) { return s.tag; }).join("\n");
    var columns = volumeColumns(volume);
    if (conversationChart && tags === conversationTags) {
      conversationChart.setData(columns);
      return;
    }
    if (conversationChart) { conversationChart.destroy(); }
    conversationTags = tags;
    var opts = {
      width: Math.max(200, box.clientWidth),
      height: 220,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), tz); },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(5, max * 1.15)]; } } },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      series: [{ value: function (u, v) { return v === null ? "—" : clock(v); } }].concat(
        volume.series.map(function (s, k) {
          var color = TAG_COLORS[k % TAG_COLORS.length];
          return {
            label: "#" + s.tag,
            stroke: color,
            width: 2,
            points: { show: volume.epochs.length < 40 },
            value: function (u, v) { return v === null ? "—" : fmtNum(v); },
          };
        })
      ),
      axes: [
        {
          stroke: "#333333",
          grid: { stroke: "#e3e3e3" },
          incrs: TIME_INCRS,
          values: timeTicks,
        },
        {
          stroke: "#333333",
          grid: { stroke: "#e3e3e3" },
          size: 48,
          values: function (u, vals) { return vals.map(function (v) { return compactFormat.format(v); }); },
        },
      ],
      plugins: [bandsPlugin(null)],
    };
    conversationChart = new uPlot(opts, columns, box);
    // Hashtags in the legend may be Urdu: let each label take its own direction.
    conversationChart.root.querySelectorAll(".u-legend .u-series .u-label").forEach(function (label) {
      label.setAttribute("dir", "auto");
    });
  }

  // A count of accounts a sketch estimated is marked "≈" (exact ones, and older answers
  // without bounds, are shown as they are).
  function accounts(n, bounds) {
    return (bounds && !bounds.exact ? "≈" : "") + fmtNum(n);
  }

  function showTopHashtags(top) {
    var list = byId("top-hashtags");
    list.textContent = "";
    top.slice(0, 10).forEach(function (t) {
      var item = el("li", { "data-tag": t.tag });
      item.appendChild(bidi("#" + t.tag, "tag"));
      item.appendChild(el("span", { "class": "muted" }, " " + fmtNum(t.posts) + " posts · " +
        accounts(t.authors, t.authors_bounds) + " accounts"));
      list.appendChild(item);
    });
  }

  function spikeItem(s) {
    var item = el("li", { "class": "spike", "data-tag": s.tag, "data-score": String(s.peak.score) });
    var head = el("p", { "class": "spike-head" });
    head.appendChild(bidi("#" + s.tag, "tag"));
    var when = s.minutes > 1 ? clock(s.first_epoch) + "–" + clock(s.last_epoch) : clock(s.first_epoch);
    head.appendChild(el("span", { "class": "spike-time" }, " " + when));
    item.appendChild(head);
    item.appendChild(el("p", { "class": "spike-figures" },
      (s.minutes > 1 ? "Peak minute " + clock(s.peak.epoch) + ": " : "") +
      fmtNum(s.peak.posts) + " posts vs " + decimalFormat.format(s.peak.expected) + " expected · score " +
      decimalFormat.format(s.peak.score) + " (spike from " + fmtNum(s.threshold) + ")" +
      (s.minutes > 1 ? " · " + fmtNum(s.posts) + " posts in " + s.minutes + " minutes" : "")));
    spikeEvidence(item, s);
    return item;
  }

  // The accounts and posts behind a spike (or a trend alert): the same evidence in both.
  function spikeEvidence(item, s) {
    if (s.top_accounts.length) {
      var who = el("p", { "class": "spike-accounts" }, "Top accounts: ");
      s.top_accounts.forEach(function (a, i) {
        if (i) { who.appendChild(document.createTextNode(", ")); }
        who.appendChild(bidi(a.handle || a.id, "account"));
        who.appendChild(document.createTextNode(" (" + fmtNum(a.posts) + ")"));
      });
      item.appendChild(who);
    }
    if (s.top_posts.length) {
      var more = el("details", { "class": "spike-posts" });
      more.appendChild(el("summary", {}, "Top posts"));
      var posts = el("ul", {});
      s.top_posts.forEach(function (p) {
        var line = el("li", {});
        line.appendChild(bidi(p.text, "post-text"));
        line.appendChild(el("span", { "class": "muted" }, " · " + fmtNum(p.engagement) + " likes + reposts"));
        posts.appendChild(line);
      });
      more.appendChild(posts);
      item.appendChild(more);
    }
  }

  function showSpikes(spikes) {
    var list = byId("spikes");
    list.textContent = "";
    spikes.forEach(function (s) { list.appendChild(spikeItem(s)); });
    byId("no-spikes").hidden = spikes.length > 0;
  }

  function showConversation(body) {
    conversationAt = Date.now();
    var measured = body.measured && body.overview;
    conversation.setAttribute("data-state", measured ? "measured" : "not-measured");
    var note = byId("conversation-note");
    note.hidden = measured;
    note.textContent = measured ? "" : body.note;
    byId("conversation-body").hidden = !measured;
    var computed = body.computed_at ? timeFormat.format(new Date(body.computed_at)) : "—";
    setText("conversation-status", measured
      ? "From " + fmtNum(body.overview.posts) + " collected posts, computed at " + computed + "; refreshed every 30 s."
      : "Nothing measured yet; looking again every 30 s.");
    var defs = body.definitions || {};
    setText("def-overview", defs.overview);
    setText("def-tag-minutes", defs.tag_minutes);
    setText("def-spikes", defs.tag_spikes);
    setText("def-evidence", defs.spike_evidence);
    if (!measured) { return; }
    var o = body.overview;
    var posts = byId("conv-posts");
    posts.textContent = fmtNum(o.posts);
    posts.setAttribute("data-value", String(o.posts));
    byId("conv-authors").textContent = accounts(o.authors, o.authors_bounds);
    var b = o.authors_bounds;
    setText("conv-authors-note", "accounts that posted at least once" + (b && !b.exact
      ? " (an estimate: 95% between " + fmtNum(b.lower) + " and " + fmtNum(b.upper) + ")"
      : " (exact count)"));
    setText("conv-kinds", fmtNum(o.originals) + " originals · " + fmtNum(o.reposts) + " reposts · " +
      fmtNum(o.replies) + " replies · " + fmtNum(o.quotes) + " quotes");
    showTopHashtags(body.top_hashtags);
    setText("volume-note", body.tag_volume ? body.tag_volume.note : "");
    var tagged = body.tag_volume && body.tag_volume.series.length > 0;
    byId("conversation-chart").parentNode.hidden = !tagged;
    byId("no-hashtags").hidden = tagged;
    if (tagged) { drawVolume(body.tag_volume); }
    showSpikes(body.spikes);
  }

  function loadConversation() {
    clearTimeout(conversationTimer);
    if (document.hidden) {  // looked at again when the tab is shown
      conversationTimer = setTimeout(loadConversation, CONVERSATION_EVERY);
      return;
    }
    if (conversationBusy) { return; }
    conversationBusy = true;
    fetch(conversation.getAttribute("data-url"), {
      credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store",
    })
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(showConversation)
      .catch(function (err) {
        var shown = conversation.getAttribute("data-state") === "measured";
        if (!shown) { conversation.setAttribute("data-state", "error"); }
        setText("conversation-status", "Could not load the conversation figures (" + err.message + ")" +
          (shown ? "; the figures shown are from " + timeFormat.format(new Date(conversationAt)) : "") +
          ". Trying again in 30 s.");
      })
      .then(function () {
        conversationBusy = false;
        conversationTimer = setTimeout(loadConversation, CONVERSATION_EVERY);
      });
  }

  if (conversation) {
    var chartBox = byId("conversation-chart");
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        var w = Math.max(200, chartBox.clientWidth);
        if (conversationChart && Math.abs(conversationChart.width - w) > 1) {
          conversationChart.setSize({ width: w, height: 220 });
        }
      }).observe(chartBox);
    }
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && Date.now() - conversationAt > CONVERSATION_EVERY) { loadConversation(); }
    });
    loadConversation();
  }

  // ---- trend alerts: spikes announced as their minute closes, fetched every 10 s -------------
  /* The server checks the posts of an event in progress every few seconds and announces each
     spike once; this list shows the five newest, the ones that arrived while the page was open
     marked "new". */
  var alertsBox = byId("trend-alerts");
  var ALERTS_EVERY = 10000;
  var alertsKnown = null;  // the alert keys of the first answer: not marked as new

  function alertItem(a, fresh) {
    var key = a.tag + "@" + a.minute;
    var item = el("li", { "class": "spike trend-alert" + (fresh ? " new" : ""), "data-key": key });
    var head = el("p", { "class": "spike-head" });
    if (fresh) { head.appendChild(el("span", { "class": "badge" }, "new ")); }
    head.appendChild(bidi("#" + a.tag, "tag"));
    head.appendChild(el("span", { "class": "spike-time" }, " " + clock(a.minute * 60)));
    item.appendChild(head);
    item.appendChild(el("p", { "class": "spike-figures" },
      fmtNum(a.posts) + " posts vs " + decimalFormat.format(a.expected) + " expected · score " +
      decimalFormat.format(a.score) + " (spike from " + fmtNum(a.threshold) + ") · announced " +
      Math.round(a.delay_seconds) + " s after the minute ended"));
    spikeEvidence(item, a);
    return item;
  }

  function showAlerts(alerts) {
    var keys = alerts.map(function (a) { return a.tag + "@" + a.minute; });
    var known = alertsKnown || keys;
    alertsKnown = keys;
    var list = byId("trend-alert-list");
    list.textContent = "";
    alerts.slice(0, 5).forEach(function (a, i) {
      list.appendChild(alertItem(a, known.indexOf(keys[i]) < 0));
    });
    alertsBox.hidden = alerts.length === 0;
    setText("trend-alerts-status", alerts.length
      ? fmtNum(alerts.length) + " announced; the newest at " + timeFormat.format(new Date(alerts[0].detected_at)) + "."
      : "");
  }

  function loadAlerts() {
    if (document.hidden) { setTimeout(loadAlerts, ALERTS_EVERY); return; }
    fetch(alertsBox.getAttribute("data-url"), {
      credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store",
    })
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(showAlerts)
      .catch(function (err) {
        setText("trend-alerts-status", "Could not load the trend alerts (" + err.message + "); trying again in 10 s.");
      })
      .then(function () { setTimeout(loadAlerts, ALERTS_EVERY); });
  }

  if (alertsBox) { loadAlerts(); }

  // ---- internet disruptions: bands over the charts and the panel, fetched every 30 s -----------
  /* Incidents that overlap the event, each with the audience change on every platform. The
     bands are elements in each chart's overlay (from start to end, open ones to now), so they
     follow resizes and new points; the panel lists the incidents with the change table. */

  var INCIDENTS_EVERY = 30000;
  var incidentsBox = byId("incidents");
  var incidents = [];
  var incidentsAt = 0;
  var incidentsTimer = null;
  var dayFormat = new Intl.DateTimeFormat("en-GB", { timeZone: tz, day: "numeric", month: "short" });
  var levelFormat = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
  var changeFormat = new Intl.NumberFormat("en", { maximumFractionDigits: 0, signDisplay: "exceptZero" });
  var shareFormat = new Intl.NumberFormat("en", {
    style: "percent", maximumFractionDigits: 1, signDisplay: "exceptZero",
  });

  function incidentEnd(i) { return i.ended_at ? seconds(i.ended_at) : Date.now() / 1000; }

  function syncBands(u, platform) {
    u.over.querySelectorAll(".incident-band").forEach(function (b) { b.remove(); });
    var min = u.scales.x.min;
    var max = u.scales.x.max;
    if (min === null || max === null || min === undefined || max === undefined) { return; }
    (incidents || []).forEach(function (i) {
      var from = Math.max(seconds(i.started_at), min);
      var to = Math.min(incidentEnd(i), max);
      if (to <= from) { return; }
      var left = u.valToPos(from, "x");
      var affected = platform !== null && i.platforms.indexOf(platform) >= 0;
      var band = el("div", {
        "class": "incident-band" + (affected ? " affected" : ""),
        "data-incident-id": i.id,
        "aria-hidden": "true",
      });
      band.style.left = left + "px";
      band.style.width = Math.max(2, u.valToPos(to, "x") - left) + "px";
      u.over.appendChild(band);
    });
  }

  function bandsPlugin(platform) {
    return { hooks: { draw: [function (u) { syncBands(u, platform); }] } };
  }

  function allBands() {
    Object.keys(series).forEach(function (k) {
      if (series[k].chart) { syncBands(series[k].chart, series[k].stream.platform); }
    });
    if (conversationChart) { syncBands(conversationChart, null); }
  }

  function incidentTime(i) {
    var start = new Date(i.started_at);
    var text = dayFormat.format(start) + ", " + clockFormat.format(start) + "–";
    if (!i.ended_at) { return text + "now (ongoing)"; }
    var end = new Date(i.ended_at);
    var sameDay = dayFormat.format(end) === dayFormat.format(start);
    return text + (sameDay ? "" : dayFormat.format(end) + ", ") + clockFormat.format(end);
  }

  function samples(n) { return n === 1 ? "1 sample" : fmtNum(n) + " samples"; }

  function changeRow(platform, c) {
    var row = el("tr", {
      "data-platform": platform.platform,
      "data-stream-id": c ? String(c.stream_id) : "",
      "data-change": c && c.change !== null ? String(c.change) : "",
    });
    var head = el("th", { scope: "row" });
    head.appendChild(el("span", { "class": "platform" }, platform.platform));
    if (platform.affected) { head.appendChild(el("span", { "class": "badge affected" }, "affected")); }
    if (c) {
      head.appendChild(el("br"));
      head.appendChild(el("span", { "class": "muted", dir: "auto" }, c.label));
    }
    row.appendChild(head);
    if (!c) {
      row.appendChild(el("td", { colspan: "3", "class": "muted", "data-label": "Change" }, "no stream of this event on this platform"));
      return row;
    }
    var unit = c.unit ? " " + c.unit : "";
    row.appendChild(el("td", { "class": "before", "data-label": "Before" },
      c.before === null ? "—" : levelFormat.format(c.before) + unit + " (" + samples(c.before_samples) + ")"));
    row.appendChild(el("td", { "class": "during", "data-label": "During" },
      c.during === null ? "—" : levelFormat.format(c.during) + unit + ", lowest " + levelFormat.format(c.during_min) +
        " (" + samples(c.during_samples) + ")"));
    var change = el("td", { "class": "change" + (c.change === null ? " unknown-change" : ""), "data-label": "Change" });
    if (c.change === null) {
      change.textContent = "not measured: " + c.not_measured;
    } else {
      change.textContent = changeFormat.format(c.change) + unit +
        (c.relative === null ? "" : " (" + shareFormat.format(c.relative) + ")");
    }
    row.appendChild(change);
    return row;
  }

  function incidentItem(i) {
    var item = el("li", { "class": "incident" + (i.ended_at ? "" : " open"), "data-incident-id": i.id, "data-status": i.status });
    var head = el("p", { "class": "incident-head" });
    head.appendChild(el("span", { "class": "incident-time" }, incidentTime(i)));
    head.appendChild(el("span", { "class": "muted" }, " (" + tz + ")"));
    item.appendChild(head);
    var what = el("p", { "class": "incident-what" });
    what.appendChild(el("span", { "class": "incident-platforms" }, i.platforms.join(", ")));
    what.appendChild(document.createTextNode(" · "));
    what.appendChild(el("abbr", { "class": "incident-method", title: i.method_definition }, i.method));
    what.appendChild(document.createTextNode(" · confidence " + levelFormat.format(i.confidence * 100) + " %"));
    item.appendChild(what);
    if (i.summary) { item.appendChild(el("p", { "class": "incident-summary", dir: "auto" }, i.summary)); }
    var where = [];
    if (i.cities.length) { where.push("Cities: " + i.cities.join(", ")); }
    if (i.networks.length) { where.push("Networks: " + i.networks.join(", ")); }
    if (where.length) { item.appendChild(el("p", { "class": "incident-where muted", dir: "auto" }, where.join(" · "))); }
    if (i.impact) {
      var wrap = el("div", { "class": "table-wrap" });
      var table = el("table", { "class": "impact" });
      var caption = el("caption", { "class": "muted small" },
        "Audience change on each platform: mean in the " + i.impact.before_minutes +
        " min before vs during" + (i.impact.open ? " (so far)" : ""));
      table.appendChild(caption);
      var headRow = el("tr");
      ["Platform", "Before", "During", "Change"].forEach(function (name) {
        headRow.appendChild(el("th", { scope: "col" }, name));
      });
      var thead = el("thead");
      thead.appendChild(headRow);
      table.appendChild(thead);
      var body = el("tbody");
      i.impact.platforms.forEach(function (p) {
        if (!p.streams.length) { body.appendChild(changeRow(p, null)); }
        p.streams.forEach(function (c) { body.appendChild(changeRow(p, c)); });
      });
      table.appendChild(body);
      wrap.appendChild(table);
      item.appendChild(wrap);
    }
    return item;
  }

  function showIncidents(body) {
    incidentsAt = Date.now();
    incidents = body.incidents;
    incidentsBox.setAttribute("data-state", incidents.length ? "listed" : "none");
    var list = byId("incident-list");
    list.textContent = "";
    incidents.slice().reverse().forEach(function (i) { list.appendChild(incidentItem(i)); });
    byId("no-incidents").hidden = incidents.length > 0;
    var definition = incidents.length && incidents[0].impact ? incidents[0].impact.definition : "";
    byId("impact-definition").hidden = !definition;
    setText("def-impact", definition);
    setText("incidents-status", (incidents.length ? fmtNum(incidents.length) + " found" : "None found") +
      " as of " + timeFormat.format(new Date(body.computed_at)) + "; looking again every 30 s.");
    allBands();
  }

  function loadIncidents() {
    clearTimeout(incidentsTimer);
    if (document.hidden) {
      incidentsTimer = setTimeout(loadIncidents, INCIDENTS_EVERY);
      return;
    }
    fetch(incidentsBox.getAttribute("data-url"), {
      credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store",
    })
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(showIncidents)
      .catch(function (err) {
        if (!incidentsAt) { incidentsBox.setAttribute("data-state", "error"); }
        setText("incidents-status", "Could not load the disruptions (" + err.message + ")" +
          (incidentsAt ? "; the list shown is from " + timeFormat.format(new Date(incidentsAt)) : "") +
          ". Trying again in 30 s.");
      })
      .then(function () { incidentsTimer = setTimeout(loadIncidents, INCIDENTS_EVERY); });
  }

  if (incidentsBox) {
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && Date.now() - incidentsAt > INCIDENTS_EVERY) { loadIncidents(); }
    });
    loadIncidents();
  }

  document.querySelectorAll(".chart[data-stream-id]").forEach(makeChart);
  if (data.snapshot) { applySnapshot(data.snapshot); }
  connect();
})();
