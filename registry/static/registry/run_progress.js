// Live progress of the training run on an ML app's models page (admin/registry/run_panel.html): polls the page's JSON
// status (data-status-url) while a run is queued or running, and reloads the page when it has ended, to show its
// outcome. The loss shows the validation loss too where the status has one. No library needed.
(function () {
  "use strict";
  var root = document.querySelector("[data-status-url]");
  if (!root || !root.dataset.active) return;
  var url = root.dataset.statusUrl, percent = root.dataset.percent || "%";
  var text = function (id, value) { var e = document.getElementById(id); if (e) e.textContent = value; };
  var fmt = function (v) { return (v === null || v === undefined) ? "-" : Number(v).toFixed(4); };

  function show(run) {
    document.getElementById("run-panel").hidden = false;
    text("run-id", "#" + run.id);
    text("run-status", run.status);
    text("run-stage", run.stage);
    document.getElementById("run-progress").value = run.progress;
    text("run-percent", Math.round(run.progress * 100) + percent);
    text("run-epoch", run.epoch);
    text("run-epochs", run.epochs);
    text("run-loss", "val_loss" in run ? "train " + fmt(run.train_loss) + ", validation " + fmt(run.val_loss)
                                       : fmt(run.train_loss));
    text("run-device", run.device || "-");
    text("run-beat", run.heartbeat_seconds_ago == null ? "-" : Math.round(run.heartbeat_seconds_ago));
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (data) {
        if (data.active) { show(data.active); window.setTimeout(poll, 1500); } else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  poll();
})();
