// The data explorer: the test event and earlier steps' results as a tree; clicking a
// value inserts its path as {{ … }} into the input focused last.
"use strict";

window.relayflow.builderParts = window.relayflow.builderParts || {};
window.relayflow.builderParts.explorer = function (B) {
  const { el, toast } = window.relayflow;
  const $ = (id) => document.getElementById(id);

  document.querySelector(".flow").addEventListener("focusin", (event) => {
    const target = event.target;
    if ((target.tagName === "INPUT" || target.tagName === "TEXTAREA") && target.closest(".step-body") && !target.readOnly && target.id !== "test-event") {
      B.lastInput = target;
    }
  });

  function segment(key) {
    if (typeof key === "number") return `[${key}]`;
    if (/^\$?[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return `.${key}`;
    return `[${JSON.stringify(key)}]`;
  }

  function insertPath(path) {
    if (!B.lastInput || !document.body.contains(B.lastInput)) {
      toast("Click into a step's input first, then on a value here");
      return;
    }
    const text = `{{ ${path} }}`;
    const input = B.lastInput;
    input.focus();
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? input.value.length;
    input.setRangeText(text, start, end, "end");
    input.dispatchEvent(new Event("input", { bubbles: true }));
    toast(`Inserted ${text}`);
  }

  function preview(value) {
    if (value === null) return "null";
    if (Array.isArray(value)) return `[${value.length}]`;
    if (typeof value === "object") return `{${Object.keys(value).length}}`;
    return typeof value === "string" ? JSON.stringify(value) : String(value);
  }

  function tree(value, path, depth) {
    const entries = Array.isArray(value) ? value.slice(0, 25).map((v, i) => [i, v]) : Object.entries(value);
    return el(
      "ul",
      {},
      entries.map(([key, child]) => {
        const childPath = path + segment(key);
        const button = el("button", { type: "button", class: "path", "data-path": childPath, "aria-label": `Insert ${childPath}` }, String(key));
        button.addEventListener("mousedown", (event) => event.preventDefault()); // keep the input's selection
        button.addEventListener("click", () => insertPath(childPath));
        const node = el("div", { class: "node" }, button, el("span", { class: "value", "aria-hidden": "true" }, preview(child)));
        if (child && typeof child === "object" && Object.keys(child).length && depth < 6) {
          return el("li", {}, node, tree(child, childPath, depth + 1));
        }
        return el("li", {}, node);
      })
    );
  }

  function section(title, value, path) {
    const head = el("div", { class: "section" }, title);
    if (value === undefined) return [head, el("p", { class: "help" }, "Nothing yet.")];
    if (value === null || typeof value !== "object") {
      const button = el("button", { type: "button", class: "path", "aria-label": `Insert ${path}` }, path);
      button.addEventListener("mousedown", (event) => event.preventDefault());
      button.addEventListener("click", () => insertPath(path));
      return [head, el("div", { class: "node" }, button, el("span", { class: "value" }, preview(value)))];
    }
    return [head, tree(value, path, 0)];
  }

  function renderExplorer() {
    const box = $("explorer");
    const parts = [...section("steps.trigger.event", B.testEvent, "steps.trigger.event")];
    const names = new Set(B.wf.steps.map((s) => s.name));
    if (B.lastRun) {
      for (const result of B.lastRun.steps) {
        if (result.status !== "succeeded" || !names.has(result.step_name)) continue;
        parts.push(...section(`steps.${result.step_name}.$return_value`, result.return_value, `steps.${result.step_name}.$return_value`));
        for (const [key, value] of Object.entries(result.exports || {})) {
          if (key === "$summary") continue;
          parts.push(...section(`steps.${result.step_name}.${key}`, value, `steps.${result.step_name}${segment(key)}`));
        }
      }
    } else if (B.wf.steps.length) {
      parts.push(el("p", { class: "help" }, "Test the workflow to see what each step returns and use it in later steps."));
    }
    box.replaceChildren(...parts);
  }

  return { renderExplorer };
};
