// Connecting accounts: the form (used on the accounts page and inline in the builder),
// and the accounts page's test, rename and remove buttons.
"use strict";

(function () {
  const { api, el, toast, busy } = window.relayflow;
  let formCount = 0;

  // A form for a new account of one app (or a choice of apps). `onSaved(account)` is called
  // with the API's answer once it is saved; `onCancel()` when the user gives up.
  function connectForm({ apps, app, existing, onSaved, onCancel }) {
    const id = `acct${++formCount}`;
    const choices = apps.filter((a) => a.account_fields.length);
    // A <form> so that password managers and Enter work; it never submits to the server.
    const root = el("form", { class: "account-form", "aria-labelledby": `${id}-title`, novalidate: true });
    root.addEventListener("submit", (event) => {
      event.preventDefault();
      saveButton.click();
    });
    const title = el("h3", { id: `${id}-title` });
    const fieldsBox = el("div");
    const result = el("div", { class: "result", role: "status", "aria-live": "polite" });
    const nameInput = el("input", { id: `${id}-name`, required: true, autocomplete: "off", "aria-describedby": `${id}-name-help` });
    let appSelect = null;
    let current = null;

    function uniqueName(key) {
      const taken = new Set((existing || []).map((a) => a.name));
      let name = `${key}-prod`;
      for (let n = 2; taken.has(name); n++) name = `${key}-${n}`;
      return name;
    }

    function showApp(key) {
      current = choices.find((a) => a.key === key);
      title.textContent = `Connect a ${current.title} account`;
      nameInput.value = uniqueName(current.key);
      fieldsBox.replaceChildren();
      for (const field of current.account_fields) {
        const inputId = `${id}-${field.name}`;
        const label = el("label", { for: inputId }, field.label, field.required ? el("span", { class: "required", "aria-hidden": "true" }, " *") : null);
        let input;
        if (field.choices.length) {
          input = el("select", { id: inputId, name: field.name });
          if (!field.required && field.default == null) input.append(el("option", { value: "" }, "(none)"));
          for (const choice of field.choices) {
            input.append(el("option", { value: choice, selected: choice === field.default }, choice));
          }
        } else {
          input = el("input", {
            id: inputId,
            name: field.name,
            type: field.secret ? "password" : "text",
            autocomplete: field.secret ? "new-password" : "off",
            required: field.required,
            value: field.default || "",
          });
        }
        if (field.help) input.setAttribute("aria-describedby", `${inputId}-help`);
        fieldsBox.append(label, input, field.help ? el("p", { class: "help", id: `${inputId}-help` }, field.help) : null);
      }
    }

    function values() {
      const fields = {};
      for (const input of fieldsBox.querySelectorAll("input, select")) {
        if (input.value.trim() !== "") fields[input.name] = input.value.trim();
      }
      return fields;
    }

    function say(kind, text) {
      result.replaceChildren(el("p", { class: kind }, text));
    }

    const testButton = el("button", { type: "button" }, "Test connection");
    testButton.addEventListener("click", () =>
      busy(testButton, async () => {
        say("muted", "Testing…");
        try {
          const answer = await api("POST", `/ui/apps/${current.key}/test-connection`, { fields: values() });
          if (answer.ok) say("success", `Connection works: ${answer.message}`);
          else say("error", `Connection failed: ${answer.error}`);
        } catch (error) {
          say("error", error.message);
        }
      })
    );
    const saveButton = el("button", { type: "button", class: "primary" }, "Save account");
    saveButton.addEventListener("click", () =>
      busy(saveButton, async () => {
        if (!nameInput.value.trim()) {
          nameInput.setAttribute("aria-invalid", "true");
          nameInput.focus();
          return say("error", "Give the account a name.");
        }
        await save(true);
      })
    );
    // Saving tests the connection first; a failed test offers to save the account anyway.
    async function save(test) {
      try {
        const account = await api("POST", "accounts", { app: current.key, name: nameInput.value.trim(), fields: values(), test });
        say("success", account.connection_test ? `Saved ${account.name}. Connection works: ${account.connection_test}` : `Saved ${account.name} (not tested).`);
        onSaved(account);
      } catch (error) {
        if (!(error.detail && error.detail.connection_failed)) return say("error", `Not saved: ${error.message}`);
        const anyway = el("button", { type: "button", class: "save-anyway" }, "Save anyway");
        anyway.addEventListener("click", () => busy(anyway, () => save(false)));
        result.replaceChildren(el("p", { class: "error" }, `Not saved: the connection test failed: ${error.detail.reason}`), anyway);
      }
    }
    const cancelButton = el("button", { type: "button" }, "Cancel");
    cancelButton.addEventListener("click", () => onCancel && onCancel());

    root.append(title);
    if (!app) {
      appSelect = el("select", { id: `${id}-app` }, choices.map((a) => el("option", { value: a.key }, a.title)));
      appSelect.addEventListener("change", () => showApp(appSelect.value));
      root.append(el("label", { for: `${id}-app` }, "App"), appSelect);
    }
    root.append(
      el("label", { for: `${id}-name` }, "Account name"),
      nameInput,
      el("p", { class: "help", id: `${id}-name-help` }, "Steps refer to the account by this name."),
      fieldsBox,
      el("div", { class: "test-row" }, testButton, saveButton, cancelButton),
      result
    );
    showApp(app || choices[0].key);
    return root;
  }

  window.relayflow.connectForm = connectForm;

  // The accounts page -----------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", () => {
    const dataNode = document.getElementById("accounts-data");
    if (!dataNode) return;
    const data = JSON.parse(dataNode.textContent);
    const panel = document.getElementById("connect-panel");
    const connect = document.getElementById("connect-button");

    connect.addEventListener("click", () => {
      const open = panel.hidden;
      connect.setAttribute("aria-expanded", String(open));
      panel.hidden = !open;
      if (!open) return panel.replaceChildren();
      panel.replaceChildren(
        connectForm({
          apps: data.apps,
          existing: data.accounts,
          onSaved: () => window.location.reload(),
          onCancel: () => connect.click(),
        })
      );
      panel.querySelector("select, input").focus();
    });

    const rowResult = (button) => button.closest("td").querySelector(".result");
    for (const button of document.querySelectorAll("[data-test]")) {
      button.addEventListener("click", () =>
        busy(button, async () => {
          const out = rowResult(button);
          out.textContent = "Testing…";
          try {
            const answer = await api("POST", `accounts/${encodeURIComponent(button.dataset.test)}/test`);
            out.className = `result small ${answer.ok ? "success" : "error"}`;
            out.textContent = answer.ok ? `Works: ${answer.message}` : `Failed: ${answer.error}`;
          } catch (error) {
            out.className = "result small error";
            out.textContent = error.message;
          }
        })
      );
    }
    for (const button of document.querySelectorAll("[data-rename]")) {
      button.addEventListener("click", async () => {
        const name = button.dataset.rename;
        const next = window.prompt(`New name for ${name}:`, name);
        if (!next || next === name) return;
        try {
          const answer = await api("PATCH", `accounts/${encodeURIComponent(name)}`, { name: next });
          if (answer.still_using_old_name && answer.still_using_old_name.length) {
            window.alert(`Renamed. These workflows still use “${name}”; update their steps: ${answer.still_using_old_name.join(", ")}`);
          }
          window.location.reload();
        } catch (error) {
          toast(error.message);
        }
      });
    }
    for (const button of document.querySelectorAll("[data-remove]")) {
      button.addEventListener("click", async () => {
        const name = button.dataset.remove;
        if (!window.confirm(`Remove the account ${name} and its secrets?`)) return;
        try {
          const answer = await api("DELETE", `accounts/${encodeURIComponent(name)}`);
          if (answer.used_by && answer.used_by.length) {
            window.alert(`Removed. These workflows used it and will fail until changed: ${answer.used_by.join(", ")}`);
          }
          window.location.reload();
        } catch (error) {
          toast(error.message);
        }
      });
    }
  });
})();
