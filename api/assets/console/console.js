// The console's live figures: one EventSource on /v1/admin/stream, whose snapshots
// replace the text of every element marked data-live="<key>" and the value of every
// <progress data-live-progress="<projection>">. Pages read fine without it.
(function () {
  "use strict";
  var source = null;

  function flatten(snapshot) {
    var out = {};
    out["head"] = snapshot.head;
    var c = snapshot.commands;
    out["commands.per_second"] = c.per_second.toFixed(1);
    out["commands.p50_ms"] = c.p50_ms == null ? "–" : c.p50_ms.toFixed(2);
    out["commands.p99_ms"] = c.p99_ms == null ? "–" : c.p99_ms.toFixed(2);
    out["commands.refused_per_second"] = c.refused_per_second.toFixed(1);
    snapshot.projections.forEach(function (p) {
      out["projection." + p.name + ".position"] = p.position;
      out["projection." + p.name + ".lag"] = p.lag;
      out["projection." + p.name + ".rebuild"] = p.rebuild_state;
      out["projection." + p.name + ".percent"] = p.rebuild_percent + "%";
    });
    snapshot.processes.forEach(function (p) {
      out["process." + p.name + ".lag"] = p.lag;
    });
    snapshot.flash_sales.forEach(function (s) {
      ["status", "held", "sold", "remaining", "queue_length", "admission_rate", "estimated_wait_seconds"]
        .forEach(function (field) { out["flash." + s.sale_id + "." + field] = s[field]; });
    });
    return out;
  }

  function apply(snapshot) {
    var values = flatten(snapshot);
    document.querySelectorAll("[data-live]").forEach(function (element) {
      var key = element.getAttribute("data-live");
      if (Object.prototype.hasOwnProperty.call(values, key)) {
        var text = String(values[key]);
        if (element.textContent !== text) { element.textContent = text; }
      }
    });
    snapshot.projections.forEach(function (p) {
      document.querySelectorAll('progress[data-live-progress="' + p.name + '"]').forEach(function (bar) {
        bar.value = p.rebuild_percent;
      });
    });
  }

  function connect() {
    if (source || !document.querySelector("[data-live], [data-live-progress]")) { return; }
    source = new EventSource("/v1/admin/stream");
    source.addEventListener("snapshot", function (event) {
      apply(JSON.parse(event.data));
    });
  }

  function disconnect() {
    if (source) { source.close(); source = null; }
  }

  document.addEventListener("DOMContentLoaded", connect);
  // hx-boost swaps the body: follow the new page's figures.
  document.addEventListener("htmx:afterSettle", function () { disconnect(); connect(); });
  window.addEventListener("pagehide", disconnect);
})();
