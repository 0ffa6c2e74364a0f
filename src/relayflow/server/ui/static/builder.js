// The workflow builder. It edits the workflow as JSON (the same model as a YAML file),
// tests drafts with POST /api/v1/workflows/{name}/test and deploys with POST /workflows.
// This file holds the state, testing, deploying and versions; builder-trigger.js,
// builder-steps.js, builder-library.js and builder-explorer.js render the parts.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { api, el, toast, busy, json, toYaml, localTimes } = window.relayflow;
  const data = JSON.parse(document.getElementById("builder-data").textContent);
  const actions = Object.fromEntries(data.actions.map((a) => [a.key, a]));
  const wf = data.definition && data.definition.trigger ? structuredClone(data.definition) : { trigger: { http: { path: "" } } };
  wf.steps = wf.steps || [];
  let dirty = false; // edits since the last test or deploy (a test stores a draft)
  let undeployed = false; // edits since the last deploy
  const $ = (id) => document.getElementById(id);
  const problems = $("problems");

  // What the parts (builder-*.js) share: the workflow, the page data, the test event, the
  // last test run, the input the explorer inserts into, and each other's functions.
  const B = { data, actions, wf, name: data.name, lastRun: null, lastInput: null, stepsList: $("steps") };
  B.testEvent = loadTestEvent();

  // Persistence of the test event and of the last test run, per workflow ------------------

  function storageKey(what) {
    return `relayflow.${what}.${B.name || "(new)"}`;
  }
  function loadTestEvent() {
    try {
      const saved = localStorage.getItem(`relayflow.test-event.${data.name || "(new)"}`);
      if (saved) return JSON.parse(saved);
    } catch {
      /* ignore a broken saved value */
    }
    return data.sample_event;
  }
  function saveTestEvent() {
    try {
      localStorage.setItem(storageKey("test-event"), JSON.stringify(B.testEvent));
    } catch {
      /* private mode: nothing to keep */
    }
  }

  // Header and status -----------------------------------------------------------------

  function markDirty() {
    dirty = true;
    undeployed = true;
    renderStatus();
  }

  function renderStatus() {
    const parts = [];
    if (!data.exists) parts.push("Not saved yet");
    else if (!data.current_version) parts.push("Draft (not deployed)");
    else parts.push(`Version ${data.current_version} deployed · ${data.active ? "active" : "paused"}`);
    if (data.showing_version && data.showing_version !== data.current_version) parts.push(`editing version ${data.showing_version}`);
    if (data.showing_draft && data.current_version) parts.push(`editing draft ${data.showing_draft}`);
    if (dirty) parts.push("unsaved changes");
    else if (undeployed && data.current_version) parts.push("tested changes not deployed yet");
    $("wf-status").textContent = parts.join(" · ");
    $("versions-button").hidden = !data.exists;
  }

  // Problems above the steps; `focus` false leaves the focus (and the view) where it is.
  function showProblems(list, heading, focus = true) {
    problems.replaceChildren(el("strong", {}, heading || "Problems:"), el("ul", {}, list.map((p) => el("li", {}, p))));
    problems.hidden = false;
    problems.setAttribute("tabindex", "-1");
    if (focus) problems.focus();
  }

  function clearProblems() {
    problems.hidden = true;
    problems.replaceChildren();
    for (const box of B.stepsList.querySelectorAll(".step-problems")) box.remove();
  }

  // A refused draft's problems: the list above the steps (without the "draft:3:" of a
  // file the builder never showed), and each step's own under its card. The view goes to
  // the step that was tested when it has problems, else to the list.
  function showRefusal(error, heading, tested) {
    const details = (error.detail && error.detail.details) || null;
    if (!details) return showProblems(error.problems, heading);
    showProblems(details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)), heading, false);
    const byStep = new Map();
    for (const d of details) {
      const at = /^steps\[(\d+)\]/.exec(d.path || "");
      if (!at) continue;
      const index = Number(at[1]);
      byStep.set(index, [...(byStep.get(index) || []), `${d.path.slice(at[0].length).replace(/^\./, "") || "step"}: ${d.message}`]);
    }
    for (const [index, list] of byStep) {
      const card = B.stepsList.children[index]?.querySelector("section.step");
      const box = el("div", { class: "error step-problems", tabindex: "-1" }, el("strong", {}, "To fix in this step:"), el("ul", {}, list.map((p) => el("li", {}, p))));
      card?.querySelector(".step-body").prepend(box);
    }
    const testedBox = tested && B.stepsList.querySelector(`[data-step="${CSS.escape(tested)}"] .step-problems`);
    (testedBox || problems).focus();
  }

  function currentName() {
    if (data.exists) return B.name;
    const input = $("wf-name");
    const value = input.value.trim();
    if (!/^[a-z0-9][a-z0-9_.-]{0,99}$/.test(value)) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
      showProblems(["Give the workflow a name: lower-case letters, digits, - _ or ., e.g. signup-to-clevertap"]);
      return null;
    }
    input.removeAttribute("aria-invalid");
    return value;
  }

  function definition(forName) {
    return { name: forName, ...Object.fromEntries(Object.entries(wf).filter(([k]) => k !== "name")) };
  }

  function becameSaved(savedName) {
    if (data.exists) return;
    B.name = savedName;
    data.exists = true;
    data.name = savedName;
    $("wf-title").textContent = savedName;
    $("wf-name").disabled = true;
    document.title = `${savedName} · relayflow`;
    history.replaceState(null, "", `/workflows/${encodeURIComponent(savedName)}`);
    saveTestEvent();
    renderStatus();
  }

  // Testing and deploying -------------------------------------------------------------

  async function runTest(until) {
    clearProblems();
    const forName = currentName();
    if (!forName) return;
    const source = toYaml(definition(forName));
    let run;
    try {
      run = await api("POST", `workflows/${encodeURIComponent(forName)}/test`, { source, event: B.testEvent, until: until || null });
    } catch (error) {
      showRefusal(error, "The workflow cannot be tested yet:", until);
      return;
    }
    becameSaved(forName);
    dirty = false;
    renderStatus();
    B.lastRun = run;
    try {
      localStorage.setItem(storageKey("last-run"), run.id);
    } catch {
      /* nothing to keep */
    }
    showRunResults(run, true, until);
    B.renderExplorer();
  }

  // Inputs an action declares secret are shown masked, as in the run inspector.
  function masked(stepName, inputs) {
    const step = wf.steps.find((s) => s.name === stepName);
    const action = step && actions[step.uses];
    if (!action || !inputs || typeof inputs !== "object") return inputs;
    const props = action.inputs.properties || {};
    return Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, props[k] && props[k].secret && v ? "••••••" : v]));
  }

  // Each step's result under its card. With `announce` (a test just ran), the view and the
  // focus go to the step that failed, else to the one tested (`tested`, or the last).
  function showRunResults(run, announce, tested) {
    const byName = Object.fromEntries(run.steps.map((s) => [s.step_name, s]));
    for (const box of B.stepsList.querySelectorAll("[data-result]")) {
      const result = byName[box.dataset.result];
      if (!result) {
        box.replaceChildren();
        continue;
      }
      const head = el("p", {}, el("span", { class: `badge ${result.status}` }, result.status), ` in ${result.duration_ms.toFixed(1)} ms `, el("a", { href: `/runs/${run.id}` }, "open the test run"));
      const parts = [head];
      if (result.error) {
        parts.push(el("div", { class: "error" }, el("strong", {}, `${result.error.name}: `), result.error.message));
        if (result.error.details) parts.push(el("pre", { class: "json", tabindex: "0", "aria-label": "Error details" }, json(result.error.details)));
      } else {
        if (result.exports && result.exports.$summary) parts.push(el("p", { class: "success" }, result.exports.$summary));
        parts.push(el("h3", {}, "Return value"), el("pre", { class: "json", tabindex: "0", "aria-label": `Return value of ${result.step_name}` }, json(result.return_value)));
      }
      if (result.logs && result.logs.length) parts.push(el("h3", {}, "Logs"), el("pre", { class: "logs" }, result.logs.map((l) => (typeof l === "string" ? l : json(l))).join("\n")));
      if (result.inputs) parts.push(el("details", {}, el("summary", {}, "Evaluated inputs"), el("pre", { class: "json" }, json(masked(box.dataset.result, result.inputs)))));
      box.replaceChildren(...parts);
    }
    if (!announce) return;
    const failed = run.steps.find((s) => s.status === "failed");
    const last = run.steps.length ? run.steps[run.steps.length - 1].step_name : null;
    const shown = failed ? failed.step_name : tested || last;
    const box = shown && B.stepsList.querySelector(`[data-result="${CSS.escape(shown)}"]`);
    if (run.status === "failed") showProblems([run.error || "the run failed"], "Test failed:", !box);
    else toast(`Test ${run.status}: ${run.steps.length} step${run.steps.length === 1 ? "" : "s"} ran`);
    if (box) {
      box.focus({ preventScroll: true });
      box.scrollIntoView({ block: "center" });
    }
  }

  async function deploy() {
    clearProblems();
    const forName = currentName();
    if (!forName) return;
    const source = toYaml(definition(forName));
    let result;
    try {
      result = await api("POST", "workflows", { source });
    } catch (error) {
      showRefusal(error, "Not deployed:", null);
      return;
    }
    becameSaved(forName);
    dirty = false;
    undeployed = false;
    const info = await api("GET", `workflows/${encodeURIComponent(forName)}`);
    Object.assign(data, { current_version: info.version, active: info.active, versions: info.versions, drafts: info.drafts, showing_version: info.version, showing_draft: null });
    renderStatus();
    toast(result.changed ? `Deployed version ${result.version}` : `Nothing changed: version ${result.version} is deployed`);
  }

  $("test-all").addEventListener("click", (event) => busy(event.currentTarget, () => runTest(null)));
  $("deploy").addEventListener("click", (event) => busy(event.currentTarget, deploy));
  window.addEventListener("beforeunload", (event) => {
    if (dirty) event.preventDefault();
  });

  // Versions ----------------------------------------------------------------------------

  const versions = $("versions");
  $("versions-button").addEventListener("click", async () => {
    try {
      const info = await api("GET", `workflows/${encodeURIComponent(B.name)}`);
      data.versions = info.versions;
      data.drafts = info.drafts;
      data.current_version = info.version;
    } catch (error) {
      toast(error.message);
    }
    renderVersions();
    $("diff").replaceChildren();
    versions.showModal();
  });

  function renderVersions() {
    const rows = data.versions.map((v) => {
      const cells = [el("th", { scope: "row" }, `v${v.version}`, v.current ? " (deployed)" : ""), el("td", {}, el("time", { datetime: new Date(v.created_at * 1000).toISOString(), "data-local": true }, new Date(v.created_at * 1000).toISOString()))];
      const buttons = el("div", { class: "row-actions" });
      if (!v.current && data.current_version) {
        const diff = el("button", { type: "button", class: "small" }, `Changes from v${data.current_version}`);
        diff.addEventListener("click", async () => {
          const response = await fetch(`/workflows/${encodeURIComponent(B.name)}/diff?a=${data.current_version}&b=${v.version}`, { credentials: "same-origin" });
          $("diff").innerHTML = await response.text(); // server-rendered, escaped fragment
        });
        const rollback = el("button", { type: "button", class: "small" }, `Roll back to v${v.version}`);
        rollback.addEventListener("click", () =>
          busy(rollback, async () => {
            if (!window.confirm(`Make version ${v.version} the deployed version?`)) return;
            try {
              await api("POST", `workflows/${encodeURIComponent(B.name)}/rollback`, { version: v.version });
              dirty = false;
              window.location.href = `/workflows/${encodeURIComponent(B.name)}`;
            } catch (error) {
              toast(error.message);
            }
          })
        );
        buttons.append(diff, rollback);
      }
      buttons.append(el("a", { class: "button small", href: `/workflows/${encodeURIComponent(B.name)}?version=${v.version}` }, "Open", el("span", { class: "visually-hidden" }, ` v${v.version}`)));
      cells.push(el("td", {}, buttons));
      return el("tr", {}, cells);
    });
    $("versions-body").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "3" }, "Not deployed yet: Deploy makes version 1."))]));
    localTimes($("versions-body"));
    const drafts = data.drafts || [];
    $("drafts-section").hidden = !drafts.length;
    $("drafts-body").replaceChildren(
      ...drafts.map((d) =>
        el(
          "tr",
          {},
          el("th", { scope: "row" }, `draft ${d.draft}`),
          el("td", {}, el("time", { datetime: new Date(d.created_at * 1000).toISOString(), "data-local": true }, new Date(d.created_at * 1000).toISOString())),
          el("td", {}, el("a", { class: "button small", href: `/workflows/${encodeURIComponent(B.name)}?draft=${d.draft}` }, "Open", el("span", { class: "visually-hidden" }, ` draft ${d.draft}`)))
        )
      )
    );
    localTimes($("drafts-body"));
  }

  // Start -----------------------------------------------------------------------------

  Object.assign(B, { markDirty, renderStatus, saveTestEvent, runTest, showRunResults });
  for (const part of Object.values(window.relayflow.builderParts)) Object.assign(B, part(B));

  if (data.newer_draft) {
    const open = el("a", { href: `/workflows/${encodeURIComponent(B.name)}?draft=${data.newer_draft}` }, `open draft ${data.newer_draft}`);
    problems.before(el("p", { class: "notice" }, `A newer draft (tested, not deployed) exists: `, open, "."));
  }
  const savedRun = data.exists ? localStorage.getItem(storageKey("last-run")) : null;
  if (savedRun) {
    api("GET", `runs/${savedRun}`)
      .then((run) => {
        B.lastRun = run;
        showRunResults(run, false);
        B.renderExplorer();
      })
      .catch(() => localStorage.removeItem(storageKey("last-run")));
  }
  renderStatus();
  B.renderTrigger();
  B.renderSteps();
  B.renderExplorer();
  const nameInput = $("wf-name");
  if (nameInput) {
    nameInput.addEventListener("input", () => {
      if (wf.trigger.http && (!wf.trigger.http.path || wf.trigger.http.path === nameInput.dataset.synced)) {
        wf.trigger.http.path = nameInput.value.trim();
        nameInput.dataset.synced = wf.trigger.http.path;
        const path = $("trigger-path");
        if (path) path.value = wf.trigger.http.path;
        const url = $("hook-url");
        if (url) url.value = B.hookUrl();
      }
      markDirty();
    });
    nameInput.focus();
  }
});
