// A small YAML writer for JSON values, so what the builder deploys reads like a
// hand-written workflow file (the server parses it with PyYAML's safe loader).
"use strict";

window.relayflow.toYaml = (function () {
  const RESERVED = /^(?:true|false|null|yes|no|on|off|y|n|~)$/i;
  const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_.$\/-]*$/;
  const PLAIN = /^[A-Za-z_\/][A-Za-z0-9 _.,\/@+()-]*$/;

  function key(name) {
    return PLAIN_KEY.test(name) && !RESERVED.test(name) ? name : JSON.stringify(name);
  }

  function scalar(value) {
    if (value === null || value === undefined) return "null";
    if (typeof value === "boolean") return String(value);
    if (typeof value === "number") {
      // YAML 1.1 (PyYAML) reads 1e+21 as text: its floats need a dot before the exponent.
      const text = String(value);
      return /e/.test(text) && !text.includes(".") ? text.replace("e", ".0e") : text;
    }
    const text = String(value);
    if (PLAIN.test(text) && !RESERVED.test(text) && !text.endsWith(" ") && !/: | #/.test(text)) {
      return text;
    }
    return JSON.stringify(text);
  }

  function block(text, indent) {
    // Literal block style keeps code and multi-line text readable.
    if (!text.includes("\n") || /^[ \t]/.test(text) || /[\u0000-\u0008\u000b-\u001f]/.test(text)) {
      return null;
    }
    const chomp = text.endsWith("\n\n") ? "+" : text.endsWith("\n") ? "" : "-";
    const body = chomp === "" ? text.slice(0, -1) : chomp === "+" ? text.slice(0, -1) : text;
    const pad = " ".repeat(indent);
    const lines = body.split("\n").map((line) => (line ? pad + line : ""));
    return `|${chomp}\n${lines.join("\n")}`;
  }

  function isEmpty(value) {
    return (Array.isArray(value) && !value.length) || (isObject(value) && !Object.keys(value).length);
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  // `value` rendered after "key:" or "- " at `indent` spaces.
  function inline(value, indent) {
    if (Array.isArray(value)) return value.length ? "\n" + list(value, indent) : " []";
    if (isObject(value)) return Object.keys(value).length ? "\n" + mapping(value, indent) : " {}";
    if (typeof value === "string") {
      const literal = block(value, indent);
      if (literal) return " " + literal;
    }
    return " " + scalar(value);
  }

  function mapping(object, indent) {
    const pad = " ".repeat(indent);
    return Object.entries(object)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${pad}${key(k)}:${inline(v, indent + 2)}`)
      .join("\n");
  }

  function list(items, indent) {
    const pad = " ".repeat(indent);
    return items
      .map((item) => {
        if (isObject(item) && !isEmpty(item)) {
          // "- first: value" then the other keys under it.
          const text = mapping(item, indent + 2);
          return `${pad}- ${text.slice(indent + 2)}`;
        }
        if (Array.isArray(item) && item.length) return `${pad}-\n${list(item, indent + 2)}`;
        return `${pad}-${inline(item, indent + 2)}`;
      })
      .join("\n");
  }

  return function toYaml(value) {
    if (isObject(value)) return mapping(value, 0) + "\n";
    if (Array.isArray(value)) return list(value, 0) + "\n";
    return scalar(value) + "\n";
  };
})();
