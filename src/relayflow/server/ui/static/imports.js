// The import page: upload a file, map its columns, dry-run or import it, follow progress.
"use strict";

(function () {
  const { api, el, busy, csrf } = window.relayflow;
  const account = JSON.parse(document.getElementById("import-data").textContent).account;
  const $ = (id) => document.getElementById(id);
  let uploaded = null;
  let polling = null;

  function options(select, columns, blank) {
    select.replaceChildren(...(blank ? [el("option", { value: "" }, blank)] : []),
      ...columns.map((c) => el("option", { value: c }, c)));
  }

  async function upload(event) {
    event.preventDefault();
    const file = $("import-file").files[0];
    if (!file) return;
    await busy($("upload-button"), async () => {
      $("upload-result").textContent = "Uploading…";
      const form = new FormData();
      form.append("file", file);
      const response = await fetch("/api/v1/imports/files", {
        method: "POST", body: form, credentials: "same-origin", headers: { "X-Relayflow-CSRF": csrf() },
      });
      const answer = await response.json();
      if (!response.ok) {
        $("upload-result").replaceChildren(el("p", { class: "bad" }, answer.detail || `HTTP ${response.status}`));
        return;
      }
      uploaded = answer;
      $("upload-result").textContent = `${answer.name}: ${answer.columns.length} columns (${answer.columns.join(", ")})`;
      options($("import-identity"), answer.columns);
      options($("import-ts"), answer.columns, "(none: now)");
      $("import-columns").replaceChildren(...answer.columns.map((c) => el("option", { value: c })));
      $("map-form").hidden = false;
    });
  }

  function body(dryRun) {
    const events = $("import-kind").value === "events";
    return {
      file: uploaded.file, account, kind: $("import-kind").value, identity: $("import-identity").value,
      key: $("import-key").value, event: events ? $("import-event").value || null : null,
      ts: events ? $("import-ts").value || null : null, dry_run: dryRun,
    };
  }

  async function start(button, dryRun) {
    await busy(button, async () => {
      $("job-error").textContent = "";
      try {
        const job = await api("POST", "imports", body(dryRun));
        $("job").hidden = false;
        $("rejects-link").hidden = true;
        follow(job.id);
      } catch (error) {
        $("job").hidden = false;
        $("job-error").textContent = error.message;
      }
    });
  }

  function describe(job) {
    const c = job.counts;
    const n = (x) => x.toLocaleString("en");
    if (job.status === "checked") return `Dry run done: ${n(c.rows)} rows checked, ${n(c.rows - c.rejected)} would be sent, ${n(c.rejected)} rejected. Nothing was sent.`;
    if (job.status === "done") return `Done: ${n(c.rows)} rows, ${n(c.processed)} accepted by CleverTap, ${n(c.rejected)} rejected.`;
    if (job.status === "failed" || job.status === "interrupted") return `Stopped (${job.status}) after ${n(c.rows)} rows.`;
    return `${job.dry_run ? "Checking" : "Importing"}… ${n(c.rows)} rows, ${n(Math.round(job.rows_per_second))} rows/s, ${n(c.rejected)} rejected`;
  }

  function follow(id) {
    clearTimeout(polling);
    const tick = async () => {
      const job = await api("GET", `imports/${id}`);
      $("import-progress").value = Math.round(job.fraction * 1000);
      $("job-status").textContent = describe(job);
      if (job.error) $("job-error").textContent = job.error;
      if (["done", "checked", "failed", "interrupted"].includes(job.status)) {
        if (job.counts.rejected) {
          const link = $("rejects-link");
          link.href = `/api/v1/imports/${id}/rejected.csv`;
          link.hidden = false;
        }
        return;
      }
      polling = setTimeout(tick, 400);
    };
    tick();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("upload-form").addEventListener("submit", upload);
    $("import-kind").addEventListener("change", () => ($("event-fields").hidden = $("import-kind").value !== "events"));
    $("dry-run-button").addEventListener("click", (e) => start(e.target, true));
    $("import-button").addEventListener("click", (e) => start(e.target, false));
  });
})();
