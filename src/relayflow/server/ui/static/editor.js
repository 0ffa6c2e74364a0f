// A small Python code editor: a textarea (which keeps editing, undo and accessibility
// native) over a <pre> that shows the same text with syntax highlighting.
"use strict";

window.relayflow.codeEditor = (function () {
  const KEYWORDS = new Set(
    ("and as assert async await break class continue def del elif else except finally for from " +
      "global if import in is lambda nonlocal not or pass raise return try while with yield " +
      "None True False").split(" ")
  );
  const BUILTINS = new Set(
    ("print len str int float bool dict list set tuple range enumerate zip isinstance sorted " +
      "min max sum any all round abs map filter repr type pd").split(" ")
  );
  const TOKEN = new RegExp(
    [
      "(#[^\\n]*)", // comment
      "((?:[rRbBfFuU]{1,2})?(?:\"\"\"[\\s\\S]*?(?:\"\"\"|$)|'''[\\s\\S]*?(?:'''|$)|\"(?:\\\\.|[^\"\\\\\\n])*\"?|'(?:\\\\.|[^'\\\\\\n])*'?))", // string
      "(\\b\\d[\\d_]*(?:\\.\\d*)?(?:[eE][+-]?\\d+)?\\b)", // number
      "([A-Za-z_][A-Za-z0-9_]*)", // name
    ].join("|"),
    "g"
  );

  function escape(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function highlight(code) {
    let html = "";
    let last = 0;
    let afterDef = false;
    for (const match of code.matchAll(TOKEN)) {
      html += escape(code.slice(last, match.index));
      last = match.index + match[0].length;
      const text = escape(match[0]);
      if (match[1]) html += `<span class="tok-com">${text}</span>`;
      else if (match[2]) html += `<span class="tok-str">${text}</span>`;
      else if (match[3]) html += `<span class="tok-num">${text}</span>`;
      else if (KEYWORDS.has(match[0])) html += `<span class="tok-kw">${text}</span>`;
      else if (afterDef) html += `<span class="tok-fn">${text}</span>`;
      else if (BUILTINS.has(match[0])) html += `<span class="tok-builtin">${text}</span>`;
      else html += text;
      afterDef = match[0] === "def" || match[0] === "class";
    }
    return html + escape(code.slice(last)) + "\n";
  }

  // Wrap `textarea` in an editor; `onChange(text)` follows every edit.
  function attach(textarea, onChange) {
    const box = document.createElement("div");
    box.className = "code-editor";
    const pre = document.createElement("pre");
    pre.setAttribute("aria-hidden", "true");
    const code = document.createElement("code");
    pre.append(code);
    textarea.parentNode.insertBefore(box, textarea);
    box.append(pre, textarea);
    textarea.spellcheck = false;
    textarea.setAttribute("autocapitalize", "off");
    textarea.setAttribute("autocomplete", "off");
    let escaped = false;

    function refresh() {
      code.innerHTML = highlight(textarea.value);
      textarea.style.height = "auto";
      textarea.style.height = `${textarea.scrollHeight + 2}px`;
      pre.scrollLeft = textarea.scrollLeft;
    }

    function insert(text) {
      // execCommand keeps the browser's undo history; setRangeText is the fallback.
      if (!document.execCommand("insertText", false, text)) {
        textarea.setRangeText(text, textarea.selectionStart, textarea.selectionEnd, "end");
        textarea.dispatchEvent(new Event("input", { bubbles: true }));
      }
    }

    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        escaped = true; // the next Tab leaves the editor
        return;
      }
      if (event.key === "Tab" && !escaped && !event.ctrlKey && !event.altKey && !event.metaKey) {
        event.preventDefault();
        if (event.shiftKey) return dedent();
        insert("    ");
      } else if (event.key === "Enter" && !event.shiftKey) {
        const before = textarea.value.slice(0, textarea.selectionStart);
        const line = before.slice(before.lastIndexOf("\n") + 1);
        let indent = line.match(/^\s*/)[0];
        if (/:\s*(#.*)?$/.test(line)) indent += "    ";
        event.preventDefault();
        insert("\n" + indent);
      }
      escaped = false;
    });

    function dedent() {
      const start = textarea.value.lastIndexOf("\n", textarea.selectionStart - 1) + 1;
      const head = textarea.value.slice(start, start + 4);
      const spaces = head.match(/^ */)[0].length;
      if (!spaces) return;
      const caret = textarea.selectionStart;
      textarea.setSelectionRange(start, start + spaces);
      insert("");
      textarea.setSelectionRange(Math.max(start, caret - spaces), Math.max(start, caret - spaces));
    }

    textarea.addEventListener("input", () => {
      refresh();
      if (onChange) onChange(textarea.value);
    });
    textarea.addEventListener("scroll", () => (pre.scrollLeft = textarea.scrollLeft));
    refresh();
    return { refresh };
  }

  return { attach, highlight };
})();
