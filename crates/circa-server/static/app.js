// Circa's web UI: ANSI colours in logs, earlier log pages on demand, live logs over SSE, and
// a reload when a watched pipeline's statuses change. Pages work without it, except live logs.
"use strict";
(function () {
  // Characters of log kept in the page per step while following; older output is dropped
  // from the page (the raw log keeps everything).
  var KEEP = 200000;

  // Appends `text` to `pre` with ANSI SGR colours as spans (text only: never parsed as HTML).
  function appendAnsi(pre, text) {
    var state = pre._ansi || { cls: "" };
    var re = /\x1b\[([0-9;]*)m/g, last = 0, m;
    var frag = document.createDocumentFragment();
    function put(s) {
      if (!s) return;
      s = s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
      if (!state.cls) { frag.appendChild(document.createTextNode(s)); return; }
      var span = document.createElement("span");
      span.className = state.cls;
      span.textContent = s;
      frag.appendChild(span);
    }
    while ((m = re.exec(text)) !== null) {
      put(text.slice(last, m.index));
      last = re.lastIndex;
      var codes = m[1] === "" ? ["0"] : m[1].split(";"), bold = /ansi-bold/.test(state.cls), colour = (state.cls.match(/ansi-3\d/) || [""])[0];
      codes.forEach(function (c) {
        var n = parseInt(c, 10);
        if (n === 0) { bold = false; colour = ""; }
        else if (n === 1) bold = true;
        else if (n === 22) bold = false;
        else if (n >= 30 && n <= 37) colour = "ansi-" + n;
        else if (n >= 90 && n <= 97) colour = "ansi-" + (n - 60);
        else if (n === 39) colour = "";
      });
      state.cls = [bold ? "ansi-bold" : "", colour].filter(Boolean).join(" ");
    }
    put(text.slice(last));
    pre._ansi = state;
    pre.appendChild(frag);
    pre._chars = (pre._chars || 0) + text.length;
    while (pre._chars > KEEP && pre.firstChild && pre.childNodes.length > 1) {
      pre._chars -= (pre.firstChild.textContent || "").length;
      pre.removeChild(pre.firstChild);
      pre._cut = true;
    }
  }

  // Re-renders a server-rendered log with colours.
  function colourise(pre) {
    var text = pre.textContent;
    if (text.indexOf("\x1b") < 0) { pre._chars = text.length; return; }
    pre.textContent = "";
    appendAnsi(pre, text);
  }

  function logUrl(pre, before, limit) {
    return "/ui/tasks/" + encodeURIComponent(pre.dataset.task) + "/steps/" + pre.dataset.step +
      "/log?limit=" + limit + (before != null ? "&before=" + before : "");
  }

  // Loads the last page of a step's log, or the page before the one shown.
  function loadPage(pre, earlier) {
    var before = earlier ? pre._start : null;
    return fetch(logUrl(pre, before, 65536), { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("log: " + r.status);
      pre._start = parseInt(r.headers.get("X-Log-Start") || "0", 10);
      return r.text();
    }).then(function (text) {
      if (earlier) {
        var holder = document.createElement("pre");
        appendAnsi(holder, text);
        while (holder.lastChild) pre.insertBefore(holder.lastChild, pre.firstChild);
      } else {
        pre.textContent = "";
        appendAnsi(pre, text);
      }
      pre.dataset.loaded = "1";
      var button = pre.parentNode.querySelector("button.earlier");
      if (button) button.hidden = !(pre._start > 0);
    });
  }

  function setUpStep(details) {
    var pre = details.querySelector("pre.log");
    if (!pre) return;
    var button = details.querySelector("button.earlier");
    if (pre.dataset.loaded) {
      colourise(pre);
      if (pre.dataset.cut) {
        // The server showed the tail: find where it starts to page further back.
        fetch(logUrl(pre, null, 65536), { method: "GET", credentials: "same-origin" }).then(function (r) {
          pre._start = parseInt(r.headers.get("X-Log-Start") || "0", 10);
          if (button) button.hidden = !(pre._start > 0);
        });
      }
    }
    details.addEventListener("toggle", function () {
      if (details.open && !pre.dataset.loaded && parseInt(pre.dataset.bytes || "0", 10) > 0) loadPage(pre, false);
    });
    if (button) button.addEventListener("click", function () { loadPage(pre, true); });
  }

  // A step that started while the page is open.
  function liveStep(task, step, name) {
    var steps = task.querySelector(".steps");
    var details = steps.querySelector('details[data-step="' + step + '"]');
    if (details) return details;
    details = document.createElement("details");
    details.className = "step st-running";
    details.dataset.step = step;
    details.open = true;
    var summary = document.createElement("summary");
    var n = document.createElement("span"); n.className = "stepname"; n.textContent = name;
    var s = document.createElement("span"); s.className = "status st-running"; s.textContent = "running";
    var t = document.createElement("span"); t.className = "took";
    summary.appendChild(n); summary.appendChild(document.createTextNode(" ")); summary.appendChild(s); summary.appendChild(t);
    var box = document.createElement("div"); box.className = "logbox";
    var pre = document.createElement("pre"); pre.className = "log live";
    pre.dataset.task = task.dataset.task; pre.dataset.step = step; pre.dataset.loaded = "1";
    box.appendChild(pre);
    details.appendChild(summary); details.appendChild(box);
    steps.appendChild(details);
    return details;
  }

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
  }

  // Follows a running task's events.
  function follow(task) {
    var es = new EventSource("/ui/tasks/" + encodeURIComponent(task.dataset.task) + "/live");
    var finished = {}, pending = {}, scheduled = false;
    function flush() {
      scheduled = false;
      var stick = nearBottom();
      Object.keys(pending).forEach(function (step) {
        var pre = task.querySelector('details[data-step="' + step + '"] pre.log');
        if (!pre) return;
        appendAnsi(pre, pending[step]);
        pre.scrollTop = pre.scrollHeight;
      });
      pending = {};
      if (stick) window.scrollTo(0, document.body.scrollHeight);
    }
    task.querySelectorAll("details.step").forEach(function (d) { finished[d.dataset.step] = true; });
    es.onmessage = function (msg) {
      var ev;
      try { ev = JSON.parse(msg.data); } catch (e) { return; }
      if (ev.event === "step_started" && !finished[ev.step]) {
        liveStep(task, ev.step, ev.name);
      } else if (ev.event === "output" && !finished[ev.step]) {
        liveStep(task, ev.step, "step " + ev.step);
        // Output is put on the page once per frame: a burst of events (a replay, a fast
        // step) costs one layout, not one per event. Only the last KEEP characters matter.
        var text = (pending[ev.step] || "") + ev.text;
        pending[ev.step] = text.length > KEEP ? text.slice(text.length - KEEP) : text;
        if (!scheduled) { scheduled = true; requestAnimationFrame(flush); }
      } else if (ev.event === "step_finished" && !finished[ev.step]) {
        var d2 = liveStep(task, ev.step, "step " + ev.step);
        var badge = d2.querySelector("summary .status");
        badge.className = "status st-" + ev.status; badge.textContent = ev.status;
        d2.className = "step st-" + ev.status;
        d2.querySelector(".took").textContent = (ev.duration_ms / 1000).toFixed(1) + " s";
      }
    };
    // A server shutting down ends the stream with a `shutdown` event: the browser then
    // reconnects by itself (with Last-Event-ID) instead of the page reloading.
    var resuming = false;
    es.addEventListener("shutdown", function () { resuming = true; });
    es.onopen = function () { resuming = false; };
    es.onerror = function () {
      if (resuming && es.readyState === EventSource.CONNECTING) return;
      if (es.readyState !== EventSource.OPEN) { es.close(); setTimeout(function () { location.reload(); }, 800); }
    };
  }

  // Reloads the page when a job or workflow on it changes status.
  function watchPipeline(id, differs) {
    var es = new EventSource("/ui/pipelines/" + encodeURIComponent(id) + "/watch");
    var timer = null;
    es.onmessage = function (msg) {
      var ev;
      try { ev = JSON.parse(msg.data); } catch (e) { return; }
      if (ev.kind === "lagged" || differs(ev)) {
        if (!timer) timer = setTimeout(function () { es.close(); location.reload(); }, 400);
      }
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("details.step").forEach(setUpStep);
    var live = document.querySelectorAll('section.task[data-live="1"]');
    live.forEach(follow);
    var job = document.getElementById("job");
    if (job) {
      watchPipeline(job.dataset.pipeline, function (ev) {
        if (ev.kind !== "job" || ev.job_id !== job.dataset.job || ev.status === job.dataset.status) return false;
        // A running job's output is already followed; reload when it ends, or when it starts
        // and the page has no task to follow yet.
        return ev.status !== "running" || live.length === 0;
      });
    }
    var pipeline = document.getElementById("live-pipeline");
    if (pipeline) {
      watchPipeline(pipeline.dataset.pipeline, function (ev) {
        if (ev.kind === "job") {
          var n = pipeline.querySelector('[data-job="' + ev.job_id + '"]');
          return !n || n.dataset.status !== ev.status;
        }
        if (ev.kind === "workflow") {
          var w = pipeline.querySelector('[data-workflow="' + ev.workflow_id + '"]');
          return !w || w.dataset.status !== ev.status;
        }
        return false;
      });
    }
  });
})();
