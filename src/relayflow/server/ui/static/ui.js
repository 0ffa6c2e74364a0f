// relayflow UI: helpers every page uses (API calls with the CSRF header, messages, times).
"use strict";

window.relayflow = (function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  class ApiError extends Error {
    constructor(status, detail) {
      super(ApiError.text(detail) || `HTTP ${status}`);
      this.status = status;
      this.detail = detail;
    }
    // FastAPI answers {"detail": "..."} or {"detail": {"problems": [...]}} or a list.
    static text(detail) {
      if (detail == null) return "";
      if (typeof detail === "string") return detail;
      if (Array.isArray(detail)) {
        return detail.map((d) => (d.loc ? `${d.loc.join(".")}: ${d.msg}` : ApiError.text(d))).join("\n");
      }
      if (detail.problems) return detail.problems.join("\n");
      if (detail.message) return detail.message;
      return JSON.stringify(detail);
    }
    get problems() {
      if (this.detail && this.detail.problems) return this.detail.problems;
      return [this.message];
    }
  }

  async function api(method, path, body) {
    const options = { method, headers: { "X-Relayflow-CSRF": csrf() }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const url = path.startsWith("/") ? path : `/api/v1/${path}`;
    const response = await fetch(url, options);
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = text;
    }
    if (response.status === 401) {
      window.location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    }
    if (!response.ok) throw new ApiError(response.status, data && data.detail !== undefined ? data.detail : data);
    return data;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  let toastTimer = null;
  // A short message at the corner; with `action` (and `onAction`), a button such as Undo
  // that stays a little longer.
  function toast(message, options = {}) {
    const box = document.getElementById("toast");
    if (!box) return;
    box.replaceChildren(message);
    if (options.action) {
      const button = el("button", { type: "button", class: "toast-action", "aria-label": options.label || null }, options.action);
      button.addEventListener("click", () => {
        box.replaceChildren();
        options.onAction();
      });
      box.append(" ", button);
    }
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => box.replaceChildren(), options.action ? 12000 : 5000);
  }

  function localTimes(root) {
    const format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
    for (const node of (root || document).querySelectorAll("time[data-local]")) {
      const when = new Date(node.getAttribute("datetime"));
      if (!isNaN(when)) {
        node.title = node.textContent;
        node.textContent = format.format(when);
      }
    }
  }

  function json(value) {
    return JSON.stringify(value, null, 2);
  }

  async function busy(button, work) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      return await work();
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    localTimes();
    // Forms and buttons that need a confirmation first.
    document.addEventListener("submit", (event) => {
      const form = event.target;
      const submitter = event.submitter;
      const question = (submitter && submitter.dataset.confirmClick) || form.dataset.confirm;
      if (question && !window.confirm(question)) event.preventDefault();
    });
    for (const button of document.querySelectorAll("[data-copy]")) {
      button.addEventListener("click", () => copy(document.getElementById(button.dataset.copy).value));
    }
  });

  async function copy(text) {
    try {
      await navigator.clipboard.writeText(text);
      toast("Copied to the clipboard");
    } catch {
      toast("Copy did not work here; select the text and press Ctrl+C");
    }
  }

  return { api, ApiError, el, toast, localTimes, json, busy, copy, csrf };
})();
