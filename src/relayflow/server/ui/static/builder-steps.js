// The builder's step cards: actions (their inputs in builder-inputs.js), code and
// flow-control steps; builder-arrange.js moves, removes and renames them.
"use strict";

window.relayflow.builderParts = window.relayflow.builderParts || {};
window.relayflow.builderParts.steps = function (B) {
  const { el, busy, codeEditor } = window.relayflow;
  const $ = (id) => document.getElementById(id);

  const KINDS = ["uses", "code", "code_file", "filter", "if", "switch", "delay", "end"];
  const kindOf = (step) => KINDS.find((k) => step[k] !== undefined && step[k] !== null) || "uses";

  function renderSteps(focusIndex) {
    const items = B.wf.steps.map((step, index) => {
      const item = el("li", {}, betweenButton(index), stepCard(step, index));
      B.dropTarget(item, index);
      return item;
    });
    B.stepsList.replaceChildren(...items);
    if (B.lastRun) B.showRunResults(B.lastRun, false);
    if (focusIndex !== undefined) {
      const card = B.stepsList.children[focusIndex];
      const target = card && (card.querySelector(".step-body select, .step-body input, .step-body textarea") || card.querySelector("input"));
      if (target) target.focus();
    }
  }

  function betweenButton(index) {
    const button = el("button", { type: "button", class: "add-step small", "aria-haspopup": "dialog" }, "+", el("span", { class: "visually-hidden" }, ` Add a step before step ${index + 1}`));
    button.addEventListener("click", () => B.openLibrary(index, button));
    return el("div", { class: "between" }, button);
  }

  function stepTitle(step) {
    const kind = kindOf(step);
    if (kind === "uses") return B.actions[step.uses] ? B.actions[step.uses].title : step.uses;
    const language = step.runtime === "nodejs" ? "Node.js" : "Python";
    return { code: `${language} code`, code_file: `${language} code (file)`, filter: "Filter", if: "If / else", switch: "Switch", delay: "Delay", end: "End workflow" }[kind];
  }

  // A button or text that names the step, kept in step with renames (builder-arrange.js).
  const named = (text) => ({ "data-names-step": "", "data-template": text });
  const labelled = (text, name) => ({ "aria-label": text.replace("{name}", name), "data-labels-step": "", "data-template": text });

  function stepCard(step, index) {
    const id = `s${index}`;
    const kind = kindOf(step);
    const nameInput = el("input", { id: `${id}-name`, class: "step-name-input", value: step.name, autocomplete: "off", "aria-describedby": `${id}-name-help` });
    const testButton = el("button", { type: "button", class: "small" }, "Test step", el("span", { class: "visually-hidden", ...named(" {name}") }, ` ${step.name}`));
    testButton.addEventListener("click", () => busy(testButton, () => B.runTest(step.name)));
    const up = el("button", { type: "button", class: "small", ...labelled("Move {name} up", step.name), disabled: index === 0 }, "↑");
    up.addEventListener("click", () => B.moveBy(index, -1));
    const down = el("button", { type: "button", class: "small", ...labelled("Move {name} down", step.name), disabled: index === B.wf.steps.length - 1 }, "↓");
    down.addEventListener("click", () => B.moveBy(index, 1));
    const remove = el("button", { type: "button", class: "small danger" }, "Remove", el("span", { class: "visually-hidden", ...named(" {name}") }, ` ${step.name}`));
    remove.addEventListener("click", () => B.removeStep(index));
    const body = el("div", { class: "step-body" });
    body.append(el("label", { for: `${id}-name` }, "Step name"), nameInput, el("p", { class: "help", id: `${id}-name-help` }, `Later steps use its result as steps.${step.name}.$return_value`), el("div", { class: "rename-offer" }));
    if (kind === "uses") body.append(...actionFields(step, id));
    else if (kind === "code" || kind === "code_file") body.append(...codeFields(step, id));
    else body.append(...flowFields(step, id, kind));
    body.append(el("div", { class: "result", role: "status", "aria-live": "polite", tabindex: "-1", "data-result": step.name }));
    const title = stepTitle(step);
    const card = el(
      "section",
      { class: "step", "aria-label": `Step ${index + 1}: ${title}`, "data-step": step.name },
      el("div", { class: "step-head" }, B.dragHandle(index), el("h2", { class: "step-title" }, title), kind === "uses" ? el("span", { class: "step-key" }, step.uses) : null, el("span", { class: "spacer" }), testButton, up, down, remove),
      body
    );
    B.nameField(step, nameInput, card);
    return card;
  }

  // An action's inputs, generated from its JSON schema.
  function actionFields(step, id) {
    const action = B.actions[step.uses];
    if (!action) return [el("p", { class: "error" }, `There is no action ${step.uses} here: remove this step, and add one from the action library with + Add a step.`)];
    step.with = step.with || {};
    const out = [];
    if (action.description) out.push(el("p", { class: "help" }, action.description, action.docs ? [" ", el("a", { href: action.docs, target: "_blank", rel: "noopener" }, "Docs")] : null));
    if (action.needs_account) out.push(...B.accountPicker(step, action, id));
    const schema = action.inputs;
    const required = new Set(schema.required || []);
    for (const [key, spec] of Object.entries(schema.properties || {})) {
      out.push(...B.inputField(step, key, spec, required.has(key), `${id}-in-${key}`));
    }
    return out;
  }

  function codeFields(step, id) {
    if (step.code_file !== undefined && step.code === undefined) {
      return [el("p", { class: "notice" }, `This step's code is in ${step.code_file}; it was read when the file was deployed. Edit it in your repository, or replace the step.`)];
    }
    const area = el("textarea", { id: `${id}-code`, rows: 8, "aria-describedby": `${id}-code-help` });
    area.value = step.code || "";
    const help = step.runtime === "nodejs"
      ? "export default defineComponent({ async run({ steps, $ }) { … } }): return a value; steps holds the trigger and earlier results, $.export(name, value) exports, this.NAME is an input."
      : "def handler(pd): return a value; pd.steps holds the trigger and earlier results, pd.export(name, value) exports.";
    const label = step.runtime === "nodejs" ? "Code (Node.js)" : "Code (Python)";
    const out = [el("label", { for: `${id}-code` }, label), area, el("p", { class: "help", id: `${id}-code-help` }, `${help} Tab indents; press Esc then Tab to leave the editor.`)];
    queueMicrotask(() =>
      codeEditor.attach(
        area,
        (text) => {
          step.code = text;
          B.markDirty();
        },
        step.runtime === "nodejs" ? "javascript" : "python"
      )
    );
    return out;
  }

  function textField(step, key, label, id, help, options = {}) {
    const inputId = `${id}-${key}`;
    const input = el("input", { id: inputId, value: step[key] === undefined || step[key] === null ? "" : typeof step[key] === "string" ? step[key] : JSON.stringify(step[key]), autocomplete: "off", class: "input-expr", "aria-describedby": help ? `${inputId}-help` : null, required: options.required });
    input.addEventListener("input", () => {
      const text = input.value;
      if (text.trim() === "" && !options.required) delete step[key];
      else step[key] = options.json ? B.parseInput(text, ["any"]).value ?? "" : text;
      B.markDirty();
    });
    return [el("label", { for: inputId }, label), input, help ? el("p", { class: "help", id: `${inputId}-help` }, help) : null];
  }

  function jsonField(holder, key, label, id, help) {
    const inputId = `${id}-${key}`;
    const area = el("textarea", { id: inputId, rows: 5, class: "input-expr", spellcheck: "false", "aria-describedby": `${inputId}-help` });
    area.value = holder[key] === undefined ? "" : JSON.stringify(holder[key], null, 2);
    const note = el("p", { class: "help", id: `${inputId}-help` }, help);
    area.addEventListener("input", () => {
      if (!area.value.trim()) {
        delete holder[key];
        B.markDirty();
        return;
      }
      try {
        holder[key] = JSON.parse(area.value);
        area.removeAttribute("aria-invalid");
        note.textContent = help;
        note.className = "help";
        B.markDirty();
      } catch (error) {
        area.setAttribute("aria-invalid", "true");
        note.textContent = `Not JSON yet: ${error.message}`;
        note.className = "help bad";
      }
    });
    return [el("label", { for: inputId }, label), area, note];
  }

  function flowFields(step, id, kind) {
    if (kind === "filter") {
      step.filter = step.filter || { continue_if: "" };
      const mode = step.filter.exit_if !== undefined ? "exit_if" : "continue_if";
      const select = el("select", { id: `${id}-mode` }, el("option", { value: "continue_if", selected: mode === "continue_if" }, "Continue only if"), el("option", { value: "exit_if", selected: mode === "exit_if" }, "End the run if"));
      select.addEventListener("change", () => {
        const value = step.filter.continue_if ?? step.filter.exit_if ?? "";
        delete step.filter.continue_if;
        delete step.filter.exit_if;
        step.filter[select.value] = value;
        B.markDirty();
      });
      const holder = {
        get condition() {
          return step.filter.continue_if ?? step.filter.exit_if;
        },
        set condition(value) {
          step.filter[select.value] = value;
        },
      };
      const condition = el("input", { id: `${id}-condition`, value: holder.condition || "", class: "input-expr", placeholder: "{{ steps.trigger.event.body.plan != 'free' }}" });
      condition.addEventListener("input", () => {
        holder.condition = condition.value;
        B.markDirty();
      });
      return [el("label", { for: `${id}-mode` }, "Rule"), select, el("label", { for: `${id}-condition` }, "Condition"), condition, ...textField(step.filter, "reason", "Reason (shown on runs that end here)", id)];
    }
    if (kind === "delay") return textField(step, "delay", "Wait for", id, "A duration (30s, 5m, 2h, 7d) or an expression; test runs skip the wait.", { required: true });
    if (kind === "end") return textField(step, "end", "Reason", id, "Shown on the run, e.g. not a paying customer.", { required: true });
    if (kind === "if") {
      return [
        ...textField(step, "if", "Condition", id, "An expression, e.g. {{ steps.trigger.event.body.plan == 'pro' }}", { required: true }),
        ...jsonField(step, "then", "Steps when true (JSON list of steps)", id, 'e.g. [{"name": "welcome", "uses": "util.echo", "with": {"value": "hi"}}]'),
        ...jsonField(step, "else", "Steps otherwise (JSON list of steps, optional)", id, "Leave empty to continue after the block."),
      ];
    }
    if (kind === "switch") {
      return [
        ...textField(step, "switch", "Value", id, "An expression whose value picks the case", { required: true }),
        ...jsonField(step, "cases", "Cases (JSON: value → list of steps)", id, 'e.g. {"pro": [{"name": "pro_welcome", "end": "pro"}]}'),
        ...jsonField(step, "default", "Default steps (JSON list, optional)", id, "Steps when no case matches."),
      ];
    }
    return [];
  }

  function uniqueStepName(base) {
    const taken = new Set();
    const walk = (steps) => {
      for (const s of steps || []) {
        taken.add(s.name);
        walk(s.then);
        walk(s.else);
        walk(s.default);
        for (const list of Object.values(s.cases || {})) walk(list);
      }
    };
    walk(B.wf.steps);
    let clean = base.replace(/[^A-Za-z0-9_]/g, "_").replace(/^[^A-Za-z_]/, "_$&");
    if (clean === "trigger") clean = "trigger_step";
    let candidate = clean;
    for (let n = 2; taken.has(candidate); n++) candidate = `${clean}_${n}`;
    return candidate;
  }

  function newStep(choice) {
    if (choice.key) {
      const step = { name: uniqueStepName(choice.key.split(".").pop()), uses: choice.key };
      if (choice.needs_account) {
        const mine = B.data.accounts.filter((a) => a.app === choice.app);
        if (mine.length === 1) step.account = mine[0].name;
      }
      step.with = {};
      return step;
    }
    const name = uniqueStepName(["code", "nodejs"].includes(choice.kind) ? "code" : choice.kind);
    switch (choice.kind) {
      case "nodejs":
        return { name, runtime: "nodejs", code: "export default defineComponent({\n  async run({ steps, $ }) {\n    const body = steps.trigger.event.body || {};\n    return { email: body.email };\n  },\n});\n" };
      case "code":
        return { name, code: 'def handler(pd):\n    body = pd.steps["trigger"]["event"].get("body") or {}\n    return {"email": body.get("email")}\n' };
      case "filter":
        return { name, filter: { continue_if: "{{ steps.trigger.event.body.email is defined }}" } };
      case "if":
        return { name, if: "{{ steps.trigger.event.body.plan == 'pro' }}", then: [] };
      case "switch":
        return { name, switch: "{{ steps.trigger.event.body.plan }}", cases: { pro: [] } };
      case "delay":
        return { name, delay: "5m" };
      default:
        return { name, end: "done" };
    }
  }

  return { renderSteps, newStep, kindOf };
};
