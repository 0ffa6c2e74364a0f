// The builder's trigger card: webhook, an app's source, schedule or manual; the test event
// and the last events received; sending the test event (or a signed sample) to the
// deployed workflow.
"use strict";

window.relayflow.builderParts = window.relayflow.builderParts || {};
window.relayflow.builderParts.trigger = function (B) {
  const { api, el, toast, busy, json, localTimes, copy } = window.relayflow;
  const $ = (id) => document.getElementById(id);

  const sources = Object.fromEntries((B.data.sources || []).map((s) => [s.key, s]));

  function triggerKind() {
    const t = B.wf.trigger;
    return t.http ? "http" : t.source ? "source" : t.schedule ? "schedule" : "manual";
  }

  function hookUrl() {
    const t = B.wf.trigger;
    const path = (t.http && t.http.path) || (t.source && t.source.path) || "";
    return `${B.data.public_url}/hooks/${path.replace(/^\/+/, "")}`;
  }

  function useSample(source) {
    if (!source) return;
    B.testEvent = structuredClone(source.sample_event);
    B.saveTestEvent();
    B.renderExplorer();
  }

  function renderTrigger() {
    const card = el("section", { class: "step trigger", "aria-labelledby": "trigger-title" });
    const kind = triggerKind();
    const kindSelect = el(
      "select",
      { id: "trigger-kind" },
      el("option", { value: "http", selected: kind === "http" }, "HTTP request (webhook)"),
      el("option", { value: "source", selected: kind === "source", disabled: !Object.keys(sources).length }, "An app's event (Shopify, Stripe, new rows in a file, table or sheet, …)"),
      el("option", { value: "schedule", selected: kind === "schedule" }, "Schedule"),
      el("option", { value: "manual", selected: kind === "manual" }, "Manual (test events only)")
    );
    kindSelect.addEventListener("change", () => {
      const value = kindSelect.value;
      const first = Object.values(sources)[0];
      B.wf.trigger =
        value === "http"
          ? { http: { path: currentNameGuess() } }
          : value === "source"
            ? { source: first.kind === "polling" ? { uses: first.key } : { uses: first.key, path: first.app } }
            : value === "schedule"
              ? { schedule: { cron: "0 9 * * *", timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" } }
              : { manual: {} };
      if (value === "source") useSample(first);
      B.markDirty();
      renderTrigger();
      $("trigger-kind").focus();
    });
    const body = el("div", { class: "step-body" }, el("label", { for: "trigger-kind" }, "Starts when"), kindSelect);
    if (kind === "http") body.append(...httpFields());
    if (kind === "source") body.append(...sourceFields());
    if (kind === "schedule") body.append(...scheduleFields());
    body.append(...testEventFields(kind));
    card.append(
      el("div", { class: "step-head" }, el("span", { class: "step-index", "aria-hidden": "true" }, "⚡"), el("h2", { id: "trigger-title", class: "step-title" }, "Trigger")),
      body
    );
    $("trigger-card").replaceChildren(card);
    localTimes(card);
  }

  function currentNameGuess() {
    const input = $("wf-name");
    return (B.data.exists ? B.name : input && input.value.trim()) || "my-webhook";
  }

  function httpFields() {
    const http = B.wf.trigger.http;
    const path = el("input", { id: "trigger-path", value: http.path || "", required: true, autocomplete: "off", "aria-describedby": "trigger-path-help" });
    const url = el("input", { id: "hook-url", readonly: true, value: hookUrl() });
    path.addEventListener("input", () => {
      http.path = path.value.trim();
      url.value = hookUrl();
      B.markDirty();
    });
    const auth = el(
      "select",
      { id: "trigger-auth" },
      el("option", { value: "none", selected: (http.auth || "none") === "none" }, "None: anyone with the URL"),
      el("option", { value: "token", selected: http.auth === "token" }, "Bearer token")
    );
    const token = el("input", { id: "trigger-token", value: http.token || "", autocomplete: "off", "aria-describedby": "trigger-token-help" });
    const tokenBox = el("div", { hidden: http.auth !== "token" }, el("label", { for: "trigger-token" }, "Token"), token, el("p", { class: "help", id: "trigger-token-help" }, "The token, or env:NAME to read it from an environment variable of the server."));
    auth.addEventListener("change", () => {
      if (auth.value === "token") http.auth = "token";
      else {
        delete http.auth;
        delete http.token;
        token.value = "";
      }
      tokenBox.hidden = auth.value !== "token";
      B.markDirty();
    });
    token.addEventListener("input", () => {
      if (token.value.trim()) http.token = token.value.trim();
      else delete http.token;
      B.markDirty();
    });
    const copyButton = el("button", { type: "button" }, "Copy");
    copyButton.addEventListener("click", () => copy(url.value));
    return [
      el("label", { for: "trigger-path" }, "Path"),
      path,
      el("p", { class: "help", id: "trigger-path-help" }, "Requests to /hooks/<path> start runs once the workflow is deployed."),
      el("label", { for: "hook-url" }, "Webhook URL"),
      el("div", { class: "copy-row" }, url, copyButton),
      el("label", { for: "trigger-auth" }, "Authentication"),
      auth,
      tokenBox,
    ];
  }

  function sourceFields() {
    const trigger = B.wf.trigger.source;
    trigger.with = trigger.with || {};
    const picker = el("select", { id: "trigger-source" });
    const byApp = {};
    for (const source of Object.values(sources)) (byApp[source.app] = byApp[source.app] || []).push(source);
    for (const [app, list] of Object.entries(byApp)) {
      const title = (B.data.apps.find((a) => a.key === app) || {}).title || app;
      picker.append(el("optgroup", { label: title }, list.map((s) => el("option", { value: s.key, selected: s.key === trigger.uses }, s.title))));
    }
    if (!sources[trigger.uses]) picker.prepend(el("option", { value: trigger.uses, selected: true }, `${trigger.uses} (not installed)`));
    picker.addEventListener("change", () => {
      const chosen = sources[picker.value];
      const before = sources[trigger.uses];
      trigger.uses = picker.value;
      trigger.with = {};
      if (!chosen || !before || chosen.app !== before.app) delete trigger.account;
      if (chosen && chosen.kind === "polling") delete trigger.path;
      else if (chosen && !trigger.path) trigger.path = chosen.app;
      useSample(chosen);
      B.markDirty();
      renderTrigger();
      $("trigger-source").focus();
    });
    const source = sources[trigger.uses];
    const out = [el("label", { for: "trigger-source" }, "App and event"), picker];
    if (!source) return out;
    const appTitle = (B.data.apps.find((a) => a.key === source.app) || {}).title || source.app;
    out.push(el("p", { class: "help" }, source.description, source.docs ? [" ", el("a", { href: source.docs, target: "_blank", rel: "noopener" }, "Docs")] : null));
    if (source.needs_account) out.push(...B.accountPicker(trigger, { app: source.app }, "trigger-source"));
    if (source.kind === "polling") return out.concat(pollingFields(trigger, source));
    const path = el("input", { id: "trigger-path", value: trigger.path || "", required: true, autocomplete: "off" });
    const url = el("input", { id: "hook-url", readonly: true, value: hookUrl() });
    path.addEventListener("input", () => {
      trigger.path = path.value.trim();
      url.value = hookUrl();
      B.markDirty();
    });
    const copyButton = el("button", { type: "button" }, "Copy");
    copyButton.addEventListener("click", () => copy(url.value));
    const field = (B.data.apps.find((a) => a.key === source.app) || { account_fields: [] }).account_fields.find((f) => f.name === source.secret_field);
    out.push(
      el("label", { for: "trigger-path" }, "Path"),
      path,
      el("label", { for: "hook-url" }, `URL to paste into ${appTitle}`),
      el("div", { class: "copy-row" }, url, copyButton),
      el("p", { class: "help", id: "source-secret-help" }, `${appTitle} signs every delivery; relayflow checks it with the account's ${field ? field.label : source.secret_field} before acknowledging it, and runs each event once even when ${appTitle} sends it again.`)
    );
    const required = new Set(source.inputs.required || []);
    for (const [key, spec] of Object.entries(source.inputs.properties || {})) {
      out.push(...B.inputField(trigger, key, spec, required.has(key), `trigger-in-${key}`));
    }
    if (B.data.exists) out.push(...deliveriesFields());
    return out;
  }

  // A polling source: how often and how much on the first poll, its inputs, what its
  // polls came to, and a dry run of a poll now.
  function pollingFields(trigger, source) {
    const every = el("input", { id: "trigger-every", value: trigger.every ? formatInterval(trigger.every) : "", placeholder: `${source.every}s`, autocomplete: "off", "aria-describedby": "trigger-every-help" });
    every.addEventListener("input", () => {
      if (every.value.trim()) trigger.every = every.value.trim();
      else delete trigger.every;
      B.markDirty();
    });
    const backfill = el("input", { id: "trigger-backfill", value: trigger.backfill === undefined ? "" : String(trigger.backfill), placeholder: "10", autocomplete: "off", "aria-describedby": "trigger-backfill-help" });
    backfill.addEventListener("input", () => {
      const value = backfill.value.trim();
      if (!value) delete trigger.backfill;
      else trigger.backfill = /^\d+$/.test(value) ? Number(value) : value;
      B.markDirty();
    });
    const out = [
      el("label", { for: "trigger-every" }, "Poll every"),
      every,
      el("p", { class: "help", id: "trigger-every-help" }, `A duration such as 30s, 5m or 1h (at least 1s); empty: ${source.every}s.`),
      el("label", { for: "trigger-backfill" }, "On the first poll, emit"),
      backfill,
      el("p", { class: "help", id: "trigger-backfill-help" }, "all, none, or the number of most recent items (default 10). Each item after that is emitted once."),
    ];
    const required = new Set(source.inputs.required || []);
    for (const [key, spec] of Object.entries(source.inputs.properties || {})) {
      out.push(...B.inputField(trigger, key, spec, required.has(key), `trigger-in-${key}`));
    }
    if (B.data.exists) out.push(...pollStatusFields());
    return out;
  }

  function pollStatusFields() {
    const shown = el("dl", { class: "poll-status", id: "poll-status", "aria-live": "polite" });
    const result = el("div", { class: "result", id: "dry-run", role: "status", "aria-live": "polite" });
    const when = (t) => (t ? new Date(t * 1000).toLocaleString() : "–");
    async function load() {
      try {
        const s = await api("GET", `workflows/${encodeURIComponent(B.name)}/polling`);
        const rows = [["State", s.state], ["Last poll", when(s.last_poll_at)], ["Next poll", when(s.next_poll_at)], ["Items emitted", String(s.emitted || 0)]];
        if (s.last_error) rows.push(["Last error", `${s.last_error} (${when(s.last_error_at)})`]);
        shown.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { class: k === "Last error" || s.state === "failing" && k === "State" ? "bad" : "" }, v)]));
      } catch (error) {
        shown.replaceChildren(el("dd", { class: "bad" }, error.message));
      }
    }
    const button = el("button", { type: "button", id: "poll-dry-run" }, "Poll now (dry run)");
    button.addEventListener("click", () =>
      busy(button, async () => {
        try {
          const answer = await api("POST", `workflows/${encodeURIComponent(B.name)}/poll?dry_run=true`);
          const head = answer.error ? el("p", { class: "error" }, answer.error) : el("p", {}, `A poll now would emit ${answer.would_emit}${answer.complete ? "" : "+"} events${answer.first_poll ? " (first poll: backfill applies)" : ""}.`);
          const list = el("ol", { class: "events-list" }, answer.events.map((e) => el("li", {}, el("code", {}, JSON.stringify(e).slice(0, 160)))));
          const problems = answer.problems.map((p) => el("p", { class: "help bad" }, p));
          result.replaceChildren(head, list, ...problems);
        } catch (error) {
          result.replaceChildren(el("p", { class: "error" }, error.message));
        }
        await load();
      })
    );
    load();
    return [el("h3", {}, "Polls"), shown, el("div", { class: "test-row" }, button), result];
  }

  function deliveriesFields() {
    const list = el("ul", { class: "events-list", id: "deliveries", "aria-labelledby": "deliveries-title" });
    const status = el("p", { class: "help", role: "status", "aria-live": "polite" });
    const empty = el("p", { class: "help" });
    const send = el("button", { type: "button", id: "send-sample" }, "Send a signed sample delivery");
    async function load() {
      try {
        const found = await api("GET", `workflows/${encodeURIComponent(B.name)}/deliveries`);
        const rows = [
          ...found.accepted.map((e) => ({ at: e.received_at, outcome: "accepted", text: describeEvent(e.payload) })),
          ...found.skipped.map((d) => ({ at: d.received_at, outcome: d.outcome, text: d.reason || d.key || d.event_type || "" })),
        ].sort((a, b) => b.at - a.at).slice(0, 12);
        list.replaceChildren(...rows.map((r) => el("li", { class: `delivery ${r.outcome}` }, el("strong", {}, r.outcome), " ", el("span", {}, r.text), " ", el("time", { datetime: new Date(r.at * 1000).toISOString(), "data-local": true }, ""))));
        empty.textContent = rows.length ? "" : "Nothing delivered yet.";
        localTimes(list);
      } catch (error) {
        empty.textContent = error.message;
      }
    }
    send.addEventListener("click", () =>
      busy(send, async () => {
        try {
          const answer = await api("POST", `workflows/${encodeURIComponent(B.name)}/send-sample`);
          status.replaceChildren(
            answer.run_ids && answer.run_ids.length
              ? el("span", { class: "success" }, "Sample accepted: ", el("a", { href: `/runs/${answer.run_ids[0]}` }, `run ${answer.run_ids[0]}`))
              : el("span", { class: answer.status >= 400 ? "error" : "" }, answer.error || `accepted ${answer.accepted || 0}, duplicates ${answer.duplicates || 0}, not subscribed ${answer.ignored || 0}`)
          );
        } catch (error) {
          status.replaceChildren(el("span", { class: "error" }, error.message));
        }
        await load();
      })
    );
    load();
    return [el("h3", { id: "deliveries-title" }, "Last deliveries"), el("div", { class: "test-row" }, send), status, empty, list];
  }

  let previewTimer = null;
  function scheduleFields() {
    const schedule = B.wf.trigger.schedule;
    const mode = schedule.interval !== undefined && schedule.interval !== null ? "interval" : "cron";
    const modeSelect = el("select", { id: "schedule-mode" }, el("option", { value: "cron", selected: mode === "cron" }, "Cron expression"), el("option", { value: "interval", selected: mode === "interval" }, "Every interval"));
    const value = el("input", { id: "schedule-value", value: mode === "cron" ? schedule.cron || "" : formatInterval(schedule.interval), autocomplete: "off", "aria-describedby": "schedule-help" });
    const help = el("p", { class: "help", id: "schedule-help" }, mode === "cron" ? "5 fields: minute hour day month weekday, e.g. */15 * * * * or 0 9 * * 1-5" : "A duration: 30s, 5m, 2h, 1d");
    const zones = el("datalist", { id: "zones" }, (Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : ["UTC"]).map((z) => el("option", { value: z })));
    const zone = el("input", { id: "schedule-zone", value: schedule.timezone || "UTC", list: "zones", autocomplete: "off" });
    const times = el("ol", { class: "next-times", id: "next-times" });
    const timesNote = el("p", { class: "help", role: "status", "aria-live": "polite" });
    function update() {
      if (modeSelect.value === "cron") {
        schedule.cron = value.value.trim();
        delete schedule.interval;
      } else {
        schedule.interval = value.value.trim();
        delete schedule.cron;
      }
      schedule.timezone = zone.value.trim() || "UTC";
      B.markDirty();
      preview();
    }
    function preview() {
      clearTimeout(previewTimer);
      previewTimer = setTimeout(async () => {
        const params = new URLSearchParams({ timezone: schedule.timezone || "UTC" });
        if (schedule.cron) params.set("cron", schedule.cron);
        if (schedule.interval) params.set("interval", schedule.interval);
        try {
          const answer = await api("GET", `/ui/schedule-preview?${params}`);
          if (answer.ok) {
            times.replaceChildren(...answer.times.map((t) => el("li", {}, t)));
            timesNote.textContent = "";
          } else {
            times.replaceChildren();
            timesNote.textContent = answer.error;
            timesNote.className = "help bad";
          }
        } catch (error) {
          timesNote.textContent = error.message;
        }
      }, 250);
    }
    modeSelect.addEventListener("change", () => {
      value.value = modeSelect.value === "cron" ? "0 9 * * *" : "1h";
      help.textContent = modeSelect.value === "cron" ? "5 fields: minute hour day month weekday, e.g. */15 * * * * or 0 9 * * 1-5" : "A duration: 30s, 5m, 2h, 1d";
      update();
    });
    value.addEventListener("input", update);
    zone.addEventListener("input", update);
    preview();
    return [
      el("label", { for: "schedule-mode" }, "Repeat"),
      modeSelect,
      el("label", { for: "schedule-value" }, "When"),
      value,
      help,
      el("label", { for: "schedule-zone" }, "Timezone"),
      zone,
      zones,
      el("h3", {}, "Next five times"),
      times,
      timesNote,
    ];
  }

  function formatInterval(seconds) {
    if (seconds === undefined || seconds === null) return "1h";
    if (typeof seconds === "string") return seconds;
    for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
      if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
    }
    return `${seconds}s`;
  }

  function testEventFields(kind) {
    const area = el("textarea", { id: "test-event", rows: 10, class: "code", spellcheck: "false", "aria-describedby": "test-event-help" });
    area.value = json(B.testEvent);
    const note = el("p", { class: "help", id: "test-event-help" }, "The event Test runs on; the data explorer shows it as steps.trigger.event.");
    area.addEventListener("input", () => {
      try {
        B.testEvent = JSON.parse(area.value);
        area.removeAttribute("aria-invalid");
        note.textContent = "The event Test runs on; the data explorer shows it as steps.trigger.event.";
        note.className = "help";
        B.saveTestEvent();
        B.renderExplorer();
      } catch (error) {
        area.setAttribute("aria-invalid", "true");
        note.textContent = `Not JSON yet: ${error.message}`;
        note.className = "help bad";
      }
    });
    const out = [el("h3", {}, "Test event"), el("label", { for: "test-event" }, "Test event (JSON)"), area, note];
    if (kind === "http") {
      const send = el("button", { type: "button", id: "send-event" }, "Send test event to the webhook");
      const result = el("div", { class: "result", role: "status", "aria-live": "polite" });
      send.addEventListener("click", () => busy(send, () => sendToWebhook(result)));
      out.push(el("div", { class: "test-row" }, send), result);
    }
    if (B.data.recent_events.length) {
      out.push(
        el("h3", { id: "recent-title" }, "Last events received"),
        el(
          "ul",
          { class: "events-list", "aria-labelledby": "recent-title" },
          B.data.recent_events.map((event) => {
            const use = el("button", { type: "button", class: "small" }, el("span", {}, describeEvent(event.payload)), el("time", { datetime: new Date(event.received_at * 1000).toISOString(), "data-local": true }, ""));
            use.setAttribute("aria-label", `Use the event received ${new Date(event.received_at * 1000).toLocaleString()} as the test event`);
            use.addEventListener("click", () => {
              B.testEvent = event.payload;
              area.value = json(B.testEvent);
              B.saveTestEvent();
              B.renderExplorer();
              toast("Test event replaced by the received event");
            });
            return el("li", {}, use);
          })
        )
      );
    }
    return out;
  }

  function describeEvent(payload) {
    if (!payload || typeof payload !== "object") return String(payload);
    const body = payload.body !== undefined ? payload.body : payload;
    const text = typeof body === "string" ? body : JSON.stringify(body);
    return `${payload.method || ""} ${text.slice(0, 60)}${text.length > 60 ? "…" : ""}`;
  }

  async function sendToWebhook(result) {
    const http = B.wf.trigger.http;
    const body = B.testEvent && B.testEvent.body !== undefined ? B.testEvent.body : B.testEvent;
    const asked = ((B.testEvent && B.testEvent.method) || "POST").toUpperCase();
    const method = ["PUT", "PATCH", "DELETE"].includes(asked) ? asked : "POST"; // with a body
    const headers = { "Content-Type": "application/json" };
    // credentials "omit": the session cookie must not end up in the stored event's headers.
    const response = await fetch(`/hooks/${http.path}`, { method, headers, body: JSON.stringify(body), credentials: "omit" });
    const answer = await response.json().catch(() => ({}));
    if (response.ok && answer.run_id) {
      result.replaceChildren(el("p", { class: "success" }, "Event received: ", el("a", { href: `/runs/${answer.run_id}` }, `run ${answer.run_id}`)));
    } else {
      const why = answer.error || `HTTP ${response.status}`;
      const hint = response.status === 404 ? " Deploy the workflow (and activate it) first." : "";
      result.replaceChildren(el("p", { class: "error" }, `${why}.${hint}`));
    }
  }

  return { renderTrigger, hookUrl };
};
