// The console's only script of its own (the CSP allows no inline script). No build step.
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // Every htmx request carries the session's CSRF token.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrf();
  });

  // Live timelines: the element with sse-connect keeps the last seq it showed. An event at
  // or below it is a duplicate (dropped); after each event the stream's URL is moved on, so
  // a stream that htmx opens again (after the connection was lost) resumes right after the
  // last event shown: no gap and no duplicate. The browser's own reconnect sends
  // Last-Event-ID, which the server honours the same way.
  function liveHost(element) {
    return element.closest("[data-live]");
  }

  function status(host, text, state) {
    var badge = document.getElementById(host.dataset.status || "live-status");
    if (badge) {
      badge.textContent = text;
      badge.dataset.state = state;
    }
  }

  document.addEventListener("htmx:sseBeforeMessage", function (event) {
    var host = liveHost(event.target);
    if (!host) return;
    var seq = parseInt(event.detail.lastEventId, 10);
    var last = parseInt(host.dataset.lastSeq || "0", 10);
    if (!(seq > last)) {
      event.preventDefault();
      return;
    }
    host.dataset.lastSeq = String(seq);
    var base = host.dataset.stream;
    host.setAttribute("sse-connect", base + (base.indexOf("?") < 0 ? "?" : "&") + "since_seq=" + seq);
    var empty = host.querySelector(".empty");
    if (empty) empty.remove();
  });

  document.addEventListener("htmx:sseMessage", function (event) {
    var host = liveHost(event.target);
    if (host) status(host, "live · seq " + host.dataset.lastSeq, "live");
  });
  document.addEventListener("htmx:sseOpen", function (event) {
    var host = liveHost(event.target) || event.target;
    if (host.dataset) status(host, "live", "live");
  });
  document.addEventListener("htmx:sseError", function (event) {
    var host = liveHost(event.target) || event.target;
    if (host.dataset) status(host, "reconnecting…", "down");
  });

  // Relative times stay true while the page is open; the exact time is in the title.
  function units(seconds) {
    if (seconds >= 86400) return Math.floor(seconds / 86400) + " d ago";
    if (seconds >= 3600) return Math.floor(seconds / 3600) + " h ago";
    if (seconds >= 60) return Math.floor(seconds / 60) + " min ago";
    return Math.max(0, Math.floor(seconds)) + " s ago";
  }
  function refreshTimes() {
    var now = Date.now();
    document.querySelectorAll("time[data-ago]").forEach(function (node) {
      var at = Date.parse(node.getAttribute("datetime"));
      if (!isNaN(at)) node.textContent = units((now - at) / 1000);
    });
  }
  setInterval(refreshTimes, 10000);

  // Ids are copyable.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    event.preventDefault();
    var text = button.dataset.copy;
    var done = function () {
      button.dataset.copied = "yes";
      setTimeout(function () { delete button.dataset.copied; }, 1200);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, done);
    } else {
      var area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); } catch (e) { /* nothing to do */ }
      area.remove();
      done();
    }
  });

  // The state-as-of control shows the seq or position it is set to.
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[data-shows]")) return;
    var label = document.getElementById(input.dataset.shows);
    if (label) label.textContent = input.value;
  });

  // Keyboard: j / k move between the items of a list (events, rows).
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.matches && target.matches("input, textarea, select")) return;
    if (event.key !== "j" && event.key !== "k") return;
    var items = Array.prototype.slice.call(document.querySelectorAll("[data-nav-item]"));
    if (!items.length) return;
    var at = items.indexOf(document.activeElement);
    var next = event.key === "j" ? Math.min(items.length - 1, at + 1) : Math.max(0, at - 1);
    items[next].focus();
    event.preventDefault();
  });
})();
