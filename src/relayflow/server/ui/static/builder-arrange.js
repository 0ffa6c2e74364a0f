// Arranging the builder's steps: move them with ↑/↓ or by dragging their number, remove
// one (a toast offers Undo), and rename one: its card follows at once, and expressions
// that use the old name are offered for rewriting.
"use strict";

window.relayflow.builderParts = window.relayflow.builderParts || {};
window.relayflow.builderParts.arrange = function (B) {
  const { el, toast } = window.relayflow;
  const $ = (id) => document.getElementById(id);

  // Moving ------------------------------------------------------------------------------

  // Move the step at `from` so that it lands before the step now at `before` (an index in
  // the list as it is, B.wf.steps.length for the end).
  function moveTo(from, before) {
    const to = before > from ? before - 1 : before;
    if (to === from) return;
    const [step] = B.wf.steps.splice(from, 1);
    B.wf.steps.splice(to, 0, step);
    B.markDirty();
    B.renderSteps();
    toast(`Moved ${step.name} to position ${to + 1}`);
  }

  function moveBy(index, delta) {
    moveTo(index, delta > 0 ? index + 2 : index - 1);
    const card = B.stepsList.children[index + delta];
    if (card) card.querySelector(`[aria-label^="Move"]:not([disabled])`)?.focus();
  }

  let dragged = null;

  // The step's number is its drag handle; the card it is dropped on takes it before or
  // after itself, by which half the pointer is over.
  function dragHandle(index) {
    const handle = el("span", { class: "step-index drag-handle", draggable: "true", title: "Drag to move this step (or use ↑ ↓)", "aria-hidden": "true" }, String(index + 1));
    handle.addEventListener("dragstart", (event) => {
      dragged = index;
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", String(index));
      handle.closest("li").classList.add("dragging");
    });
    handle.addEventListener("dragend", () => {
      dragged = null;
      for (const item of B.stepsList.children) item.classList.remove("dragging", "drop-before", "drop-after");
    });
    return handle;
  }

  function dropTarget(item, index) {
    const half = (event) => (event.clientY - item.getBoundingClientRect().top < item.offsetHeight / 2 ? "before" : "after");
    item.addEventListener("dragover", (event) => {
      if (dragged === null) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      const where = half(event);
      item.classList.toggle("drop-before", where === "before");
      item.classList.toggle("drop-after", where === "after");
    });
    item.addEventListener("dragleave", () => item.classList.remove("drop-before", "drop-after"));
    item.addEventListener("drop", (event) => {
      if (dragged === null) return;
      event.preventDefault();
      const from = dragged;
      dragged = null;
      moveTo(from, half(event) === "before" ? index : index + 1);
    });
  }

  // Removing ----------------------------------------------------------------------------

  function remove(index) {
    const [step] = B.wf.steps.splice(index, 1);
    B.markDirty();
    B.renderSteps();
    B.renderExplorer();
    $("add-end").focus();
    toast(`Removed ${step.name}.`, {
      action: `Undo`,
      label: `Undo removing ${step.name}`,
      onAction: () => {
        B.wf.steps.splice(Math.min(index, B.wf.steps.length), 0, step);
        B.markDirty();
        B.renderSteps(index);
        B.renderExplorer();
        toast(`${step.name} is back.`);
      },
    });
  }

  // Renaming ----------------------------------------------------------------------------

  const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;

  function walk(steps, visit) {
    for (const step of steps || []) {
      visit(step);
      walk(step.then, visit);
      walk(step.else, visit);
      walk(step.default, visit);
      for (const list of Object.values(step.cases || {})) walk(list, visit);
    }
  }

  function nameProblem(step, name) {
    if (!NAME.test(name)) return "Start with a letter or _, then letters, digits or _ (it is used as steps.<name>).";
    if (name === "trigger") return "trigger is taken by the trigger's data; pick another name.";
    let taken = false;
    walk(B.wf.steps, (other) => (taken = taken || (other !== step && other.name === name)));
    return taken ? `Another step is named ${name}.` : null;
  }

  // `steps.old` and `steps["old"]` in expressions and code, but not `steps.older`.
  const reference = (name) => new RegExp(String.raw`\bsteps(\s*\.\s*)${name}\b|\bsteps(\s*\[\s*)(["'])${name}\3`, "g");

  // Every string in `value` with `fn` applied; `fn` counts what it changes.
  function mapStrings(value, fn) {
    if (typeof value === "string") return fn(value);
    if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn));
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, fn)]));
    return value;
  }

  function rewrite(renamed, from, to, dryRun) {
    let count = 0;
    const fn = (text) => {
      const pattern = reference(from);
      const matched = text.match(pattern);
      if (!matched) return text;
      count += matched.length;
      return text.replace(pattern, (_m, dot, bracket, quote) => (dot !== undefined ? `steps${dot}${to}` : `steps${bracket}${quote}${to}${quote}`));
    };
    walk(B.wf.steps, (step) => {
      if (step === renamed) return;
      for (const [key, value] of Object.entries(step)) {
        if (key === "name" || key === "then" || key === "else" || key === "default" || key === "cases") continue;
        const changed = mapStrings(value, fn);
        if (!dryRun) step[key] = changed;
      }
    });
    return count;
  }

  // Wire a card's name input: the card and its hint follow each valid keystroke; when the
  // name is done (change), references to the old name are offered for rewriting.
  function nameField(step, input, card) {
    const help = card.querySelector(`#${CSS.escape(input.getAttribute("aria-describedby"))}`);
    let committed = step.name;
    input.addEventListener("input", () => {
      const name = input.value.trim();
      const problem = nameProblem(step, name);
      if (problem) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      help.className = problem ? "help bad" : "help";
      if (problem) {
        help.textContent = problem;
        return;
      }
      relabel(step, card, step.name, name);
      help.textContent = `Later steps use its result as steps.${name}.$return_value`;
      B.markDirty();
    });
    input.addEventListener("change", () => {
      const before = committed;
      committed = step.name;
      if (before === step.name) return;
      if (input.hasAttribute("aria-invalid")) return;
      B.renderExplorer();
      offerRewrite(step, card, before, step.name);
    });
  }

  function relabel(step, card, from, to) {
    step.name = to;
    card.dataset.step = to;
    const result = card.querySelector("[data-result]");
    if (result) result.dataset.result = to;
    for (const run of B.lastRun ? [B.lastRun] : []) for (const r of run.steps) if (r.step_name === from) r.step_name = to;
    for (const node of card.querySelectorAll("[data-names-step]")) node.textContent = node.dataset.template.replace("{name}", to);
    for (const node of card.querySelectorAll("[data-labels-step]")) node.setAttribute("aria-label", node.dataset.template.replace("{name}", to));
  }

  function offerRewrite(step, card, from, to) {
    const slot = card.querySelector(".rename-offer");
    const count = rewrite(step, from, to, true);
    if (!count) {
      slot.replaceChildren();
      return;
    }
    const yes = el("button", { type: "button", class: "small primary" }, `Rewrite to steps.${to}`);
    const no = el("button", { type: "button", class: "small" }, "Leave them");
    yes.addEventListener("click", () => {
      const done = rewrite(step, from, to, false);
      B.markDirty();
      B.renderSteps();
      B.renderExplorer();
      toast(`Rewrote ${done} reference${done === 1 ? "" : "s"} to steps.${to}`);
      document.querySelector(`[data-step="${CSS.escape(to)}"] .step-name-input`)?.focus();
    });
    no.addEventListener("click", () => slot.replaceChildren());
    slot.replaceChildren(el("div", { class: "notice", role: "status" }, `${count} expression${count === 1 ? "" : "s"} in other steps still use${count === 1 ? "s" : ""} steps.${from}. `, yes, " ", no));
  }

  return { moveBy, dragHandle, dropTarget, removeStep: remove, nameField };
};
