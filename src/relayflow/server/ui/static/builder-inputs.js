// The builder's input fields, generated from an action's (or a source's) declared inputs:
// text and expressions, JSON boxes that send objects and lists, checkboxes for booleans,
// and the account picker with inline connecting.
"use strict";

window.relayflow.builderParts = window.relayflow.builderParts || {};
window.relayflow.builderParts.inputs = function (B) {
  const { el, connectForm } = window.relayflow;

  function typesOf(spec) {
    if (spec.anyOf) return spec.anyOf.flatMap(typesOf);
    if (spec.enum && !spec.type) return ["string"];
    return spec.type ? [].concat(spec.type) : ["any"];
  }

  function choicesOf(spec) {
    if (spec.enum) return spec.enum;
    if (spec.anyOf) return spec.anyOf.flatMap(choicesOf);
    return [];
  }

  const SINGLE = /^\s*\{\{(?:(?!\}\}).)*\}\}\s*$/s;
  const isExpression = (value) => typeof value === "string" && value.includes("{{");

  // One input of `holder.with` (a step's or a source trigger's), by its JSON schema.
  function inputField(holder, key, spec, required, inputId) {
    holder.with = holder.with || {};
    const types = typesOf(spec);
    const current = holder.with[key];
    const onlyBoolean = types.length && types.every((t) => t === "boolean" || t === "null");
    if (onlyBoolean && !isExpression(current)) return checkboxField(holder, key, spec, inputId);
    const structured = types.some((t) => t === "object" || t === "array" || t === "any");
    const takesText = types.some((t) => t === "string" || t === "any");
    const text = current === undefined ? "" : typeof current === "string" ? current : JSON.stringify(current, null, structured ? 2 : 0);
    const choices = choicesOf(spec);
    let input;
    if (structured) {
      input = el("textarea", { id: inputId, rows: Math.min(8, Math.max(2, text.split("\n").length)), class: "input-expr", spellcheck: "false" });
      input.value = text;
    } else {
      input = el("input", { id: inputId, value: text, autocomplete: "off", list: choices.length ? `${inputId}-choices` : null, class: "input-expr" });
    }
    const examples = spec.examples && spec.examples.length ? `e.g. ${spec.examples.map((e) => (typeof e === "string" ? e : JSON.stringify(e))).join(", ")}` : "";
    const fallback = spec.default !== undefined && spec.default !== null && !(typeof spec.default === "object" && !Object.keys(spec.default).length) ? `default ${JSON.stringify(spec.default)}` : "";
    input.placeholder = examples || fallback || (structured ? '{"Key": "{{ steps.trigger.event.body.value }}"}' : "");
    input.dataset.field = key;
    if (spec.secret) input.dataset.secret = "true";
    const helpId = `${inputId}-help`;
    input.setAttribute("aria-describedby", helpId);
    if (required) input.required = true;
    const how = structured ? "JSON or a {{ expression }}; a value that is one {{ expression }} keeps its type (a list stays a list)." : "Text or a {{ expression }}.";
    const described = (spec.description || "").trim();
    const helpText = described ? `${described}${/[.!?)]$/.test(described) ? "" : "."} ${how}` : how;
    const help = el("p", { class: "help", id: helpId }, helpText);
    input.addEventListener("input", () => {
      const parsed = parseInput(input.value, types);
      if (parsed.value === undefined) delete holder.with[key];
      else holder.with[key] = parsed.value;
      // JSON that does not read yet is only an error where text is not an answer too.
      const bad = parsed.problem && !takesText;
      if (bad) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      help.textContent = bad ? `Not JSON yet: ${parsed.problem}` : helpText;
      help.className = bad ? "help bad" : "help";
      B.markDirty();
    });
    const label = el("label", { for: inputId }, spec.title || key, required ? el("span", { class: "required", "aria-hidden": "true" }, " *") : null);
    const out = [label, input, help];
    if (choices.length && !structured) out.push(el("datalist", { id: `${inputId}-choices` }, choices.map((c) => el("option", { value: String(c) }))));
    return out;
  }

  // A true/false input: a checkbox that shows the default until it is changed; the YAML
  // holds the value only where it differs from the default.
  function checkboxField(holder, key, spec, inputId) {
    const fallback = spec.default === true;
    const box = el("input", { id: inputId, type: "checkbox", class: "checkbox", "aria-describedby": spec.description ? `${inputId}-help` : null });
    box.checked = holder.with[key] === undefined || holder.with[key] === null ? fallback : Boolean(holder.with[key]);
    box.dataset.field = key;
    box.addEventListener("change", () => {
      if (box.checked === fallback) delete holder.with[key];
      else holder.with[key] = box.checked;
      B.markDirty();
    });
    return [el("div", { class: "check-row" }, box, el("label", { for: inputId }, spec.title || key)), spec.description ? el("p", { class: "help", id: `${inputId}-help` }, spec.description) : null];
  }

  // Text typed into an input becomes the value the YAML holds: strings stay strings for
  // text inputs; numbers, booleans, objects and lists are read as JSON where allowed. In
  // JSON, an expression may stand unquoted as a value: {"Items": {{ steps.x.items }}}.
  // Returns {value, problem}: `problem` says why text that looks like JSON does not read.
  function parseInput(text, types) {
    if (text.trim() === "") return { value: undefined };
    if (SINGLE.test(text) || types.every((t) => t === "string")) return { value: text };
    const quoted = text.replace(/"(?:[^"\\]|\\.)*"|\{\{[\s\S]*?\}\}/g, (m) => (m.startsWith('"') ? m : JSON.stringify(m)));
    let value;
    try {
      value = JSON.parse(quoted);
    } catch (error) {
      const looksJson = /^\s*[[{](?![{%])/.test(text);
      return { value: text, problem: looksJson ? error.message : null };
    }
    const type = value === null ? "null" : Array.isArray(value) ? "array" : typeof value === "object" ? "object" : typeof value === "number" ? (Number.isInteger(value) ? "integer" : "number") : typeof value;
    const allowed = types.includes("any") || types.includes(type) || (type === "integer" && types.includes("number"));
    if (!allowed) return { value: text };
    // Plain text where text is allowed stays text ("42" for an id is the id "42").
    if (typeof value !== "object" && quoted === text && types.includes("string")) return { value: text };
    return { value };
  }

  // Every account picker on the page refreshes when an account is connected, so each step
  // of that app gets it if it is the only one.
  const pickers = new Set();

  function accountPicker(step, action, id) {
    const selectId = `${id}-account`;
    const select = el("select", { id: selectId, required: true });
    const slot = el("div");
    function fill() {
      const mine = B.data.accounts.filter((a) => a.app === action.app);
      if (!step.account && mine.length === 1) step.account = mine[0].name; // the only one there is
      select.replaceChildren(el("option", { value: "" }, mine.length ? "Choose an account" : "No account yet: connect one"), ...mine.map((a) => el("option", { value: a.name, selected: a.name === step.account }, a.name)));
      if (step.account && !mine.some((a) => a.name === step.account)) {
        select.append(el("option", { value: step.account, selected: true }, `${step.account} (not connected)`));
      }
    }
    fill();
    const refill = () => (document.body.contains(select) ? fill() : pickers.delete(refill));
    pickers.add(refill);
    select.addEventListener("change", () => {
      if (select.value) step.account = select.value;
      else delete step.account;
      B.markDirty();
    });
    const connect = el("button", { type: "button", "aria-expanded": "false" }, "Connect new account");
    connect.addEventListener("click", () => {
      if (slot.firstChild) {
        slot.replaceChildren();
        connect.setAttribute("aria-expanded", "false");
        return;
      }
      connect.setAttribute("aria-expanded", "true");
      slot.replaceChildren(
        connectForm({
          apps: B.data.apps,
          app: action.app,
          existing: B.data.accounts,
          onSaved: (account) => {
            B.data.accounts = B.data.accounts.filter((a) => a.name !== account.name).concat([account]);
            step.account = account.name;
            B.markDirty();
            for (const refill of [...pickers]) refill();
            connect.setAttribute("aria-expanded", "false");
            slot.replaceChildren(el("p", { class: "success", role: "status" }, `Connected ${account.name}; this step uses it.`));
            select.focus();
          },
          onCancel: () => {
            slot.replaceChildren();
            connect.setAttribute("aria-expanded", "false");
            connect.focus();
          },
        })
      );
      slot.querySelector("input").focus();
    });
    const appTitle = (B.data.apps.find((a) => a.key === action.app) || {}).title || action.app;
    return [el("label", { for: selectId }, `${appTitle} account`, el("span", { class: "required", "aria-hidden": "true" }, " *")), el("div", { class: "field-row" }, select, connect), slot];
  }

  return { inputField, parseInput, accountPicker };
};
