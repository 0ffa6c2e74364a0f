// The action library: "+" opens it; search, arrows and Enter add a step.
"use strict";

window.relayflow.builderParts = window.relayflow.builderParts || {};
window.relayflow.builderParts.library = function (B) {
  const { api, el, toast } = window.relayflow;
  const $ = (id) => document.getElementById(id);

  const BUILTINS = [
    { kind: "code", title: "Python code", description: "def handler(pd): … with pd.steps, pd.export, pd.flow", app: "built-in" },
    { kind: "nodejs", title: "Node.js code", description: "export default defineComponent({ async run({ steps, $ }) … }) as in Pipedream", app: "built-in" },
    { kind: "filter", title: "Filter", description: "Continue or end the run on a condition", app: "flow control" },
    { kind: "if", title: "If / else", description: "Run steps only when a condition holds", app: "flow control" },
    { kind: "switch", title: "Switch", description: "Pick steps by a value", app: "flow control" },
    { kind: "delay", title: "Delay", description: "Wait (durably) before the next step, up to a year", app: "flow control" },
    { kind: "end", title: "End workflow", description: "Stop the run here", app: "flow control" },
  ];

  const library = $("library");
  const search = $("library-search");
  const results = $("library-results");
  let choices = [];
  let active = 0;
  let insertAt = 0;
  let opener = null;
  let searchTimer = null;

  function openLibrary(index, button) {
    insertAt = index;
    opener = button;
    search.value = "";
    library.showModal();
    search.focus();
    refreshLibrary();
  }

  let searching = Promise.resolve();
  let searchSeq = 0;

  // Results follow typing after a short pause; Enter waits for the latest search.
  function refreshLibrary() {
    clearTimeout(searchTimer);
    const seq = ++searchSeq;
    let done;
    searching = new Promise((resolve) => (done = resolve));
    searchTimer = setTimeout(async () => {
      const q = search.value.trim();
      let found;
      try {
        found = await api("GET", `actions?q=${encodeURIComponent(q)}`);
      } catch (error) {
        toast(error.message);
        found = [];
      }
      if (seq !== searchSeq) return done(); // a newer search replaced this one
      const words = q.toLowerCase().split(/\s+/).filter(Boolean);
      const builtins = BUILTINS.filter((b) => words.every((w) => `${b.kind} ${b.title} ${b.description} ${b.app}`.toLowerCase().includes(w)));
      // Titles that hold the words first ("filter" → Filter), then by app and title
      // ("Create or Update User" before "Upload User Events"); a word that only names the
      // app ("CleverTap") does not count.
      const score = (choice) =>
        words.filter((w) => !choice.app.toLowerCase().includes(w) && choice.title.toLowerCase().includes(w)).length;
      choices = [...found, ...builtins].sort(
        (a, b) => score(b) - score(a) || (a.kind ? 1 : 0) - (b.kind ? 1 : 0) || a.app.localeCompare(b.app) || a.title.localeCompare(b.title)
      );
      active = 0;
      renderLibrary();
      done();
    }, 80);
  }

  function renderLibrary() {
    results.replaceChildren(
      ...choices.map((choice, index) => {
        const item = el(
          "li",
          { id: `lib-${index}`, role: "option", "aria-selected": String(index === active) },
          el("div", { class: "lib-app" }, choice.app),
          el("div", { class: "lib-title" }, choice.title),
          el("div", { class: "lib-desc" }, choice.description || choice.key)
        );
        item.addEventListener("click", () => pick(index));
        return item;
      })
    );
    if (!choices.length) results.append(el("li", { role: "option", "aria-disabled": "true" }, "Nothing matches; try fewer words."));
    search.setAttribute("aria-activedescendant", choices.length ? `lib-${active}` : "");
    const current = document.getElementById(`lib-${active}`);
    if (current) current.scrollIntoView({ block: "nearest" });
  }

  function pick(index) {
    const choice = choices[index];
    if (!choice) return;
    const step = B.newStep(choice);
    B.wf.steps.splice(insertAt, 0, step);
    library.close();
    B.markDirty();
    B.renderSteps(insertAt);
    B.renderExplorer();
  }

  search.addEventListener("input", refreshLibrary);
  search.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!choices.length) return;
      active = (active + (event.key === "ArrowDown" ? 1 : -1) + choices.length) % choices.length;
      renderLibrary();
    } else if (event.key === "Enter") {
      event.preventDefault();
      searching.then(() => pick(active));
    }
  });
  library.addEventListener("close", () => {
    if (opener && document.activeElement === document.body) opener.focus();
  });
  $("add-end").addEventListener("click", (event) => openLibrary(B.wf.steps.length, event.currentTarget));

  return { openLibrary };
};
