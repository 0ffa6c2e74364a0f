// The run inspector: replay the run, cancel or resume a waiting one.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { api, toast, busy } = window.relayflow;

  const replay = document.getElementById("replay");
  replay.addEventListener("click", () =>
    busy(replay, async () => {
      try {
        const result = await api("POST", `runs/${replay.dataset.run}/replay`, {});
        window.location.href = `/runs/${result.run_id}`;
      } catch (error) {
        toast(`Replay failed: ${error.message}`);
      }
    })
  );

  // A run still in progress: look again every second and show it when it is done.
  const status = document.getElementById("run-status");
  if (["queued", "running"].includes(status.textContent.trim())) {
    const timer = setInterval(async () => {
      try {
        const run = await api("GET", `runs/${replay.dataset.run}`);
        if (run.status !== status.textContent.trim()) {
          clearInterval(timer);
          window.location.reload();
        }
      } catch {
        clearInterval(timer);
      }
    }, 1000);
  }

  for (const button of document.querySelectorAll("[data-control]")) {
    button.addEventListener("click", () =>
      busy(button, async () => {
        try {
          await api("POST", `runs/${button.dataset.run}/${button.dataset.control}`);
          window.location.reload();
        } catch (error) {
          toast(error.message);
        }
      })
    );
  }
});
