// A small code editor for Python and JavaScript: a textarea (which keeps editing, undo and
// accessibility native) over a <pre> that shows the same text with syntax highlighting.
"use strict";

window.relayflow.codeEditor = (function () {
  const words = (text) => new Set(text.split(" "));
  // Per language: keywords, names worth a colour, its tokens (comment, string, number, name),
  // what ends a line that opens an indented block, the indent unit, and the keywords after
  // which a name is a function's.
  const LANGUAGES = {
    python: {
      keywords: words(
        "and as assert async await break class continue def del elif else except finally for " +
          "from global if import in is lambda nonlocal not or pass raise return try while with " +
          "yield None True False"
      ),
      builtins: words(
        "print len str int float bool dict list set tuple range enumerate zip isinstance " +
          "sorted min max sum any all round abs map filter repr type pd"
      ),
      tokens: [
        "(#[^\\n]*)",
        "((?:[rRbBfFuU]{1,2})?(?:\"\"\"[\\s\\S]*?(?:\"\"\"|$)|'''[\\s\\S]*?(?:'''|$)|\"(?:\\\\.|[^\"\\\\\\n])*\"?|'(?:\\\\.|[^'\\\\\\n])*'?))",
        "(\\b\\d[\\d_]*(?:\\.\\d*)?(?:[eE][+-]?\\d+)?\\b)",
        "([A-Za-z_][A-Za-z0-9_]*)",
      ],
      opensBlock: /:\s*(#.*)?$/,
      unit: "    ",
      definers: words("def class"),
    },
    javascript: {
      keywords: words(
        "async await break case catch class const continue default delete do else export " +
          "extends false finally for from function if import in instanceof let new null of " +
          "return static super switch this throw true try typeof undefined var void while yield"
      ),
      builtins: words(
        "console JSON Math Object Array Promise String Number Boolean Date Map Set Error " +
          "process require steps $ defineComponent"
      ),
      tokens: [
        "(\\/\\/[^\\n]*|\\/\\*[\\s\\S]*?(?:\\*\\/|$))",
        "(`(?:\\\\.|[^`\\\\])*`?|\"(?:\\\\.|[^\"\\\\\\n])*\"?|'(?:\\\\.|[^'\\\\\\n])*'?)",
        "(\\b\\d[\\d_]*(?:\\.\\d*)?(?:[eE][+-]?\\d+)?n?\\b)",
        "([A-Za-z_$][A-Za-z0-9_$]*)",
      ],
      opensBlock: /[{[(]\s*(\/\/.*)?$/,
      unit: "  ",
      definers: words("function class"),
    },
  };
  for (const language of Object.values(LANGUAGES)) {
    language.pattern = new RegExp(language.tokens.join("|"), "g");
  }

  function escape(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function highlight(code, name = "python") {
    const { pattern, keywords, builtins, definers } = LANGUAGES[name];
    let html = "";
    let last = 0;
    let afterDef = false;
    for (const match of code.matchAll(pattern)) {
      html += escape(code.slice(last, match.index));
      last = match.index + match[0].length;
      const text = escape(match[0]);
      if (match[1]) html += `<span class="tok-com">${text}</span>`;
      else if (match[2]) html += `<span class="tok-str">${text}</span>`;
      else if (match[3]) html += `<span class="tok-num">${text}</span>`;
      else if (keywords.has(match[0])) html += `<span class="tok-kw">${text}</span>`;
      else if (afterDef) html += `<span class="tok-fn">${text}</span>`;
      else if (builtins.has(match[0])) html += `<span class="tok-builtin">${text}</span>`;
      else html += text;
      afterDef = definers.has(match[0]);
    }
    return html + escape(code.slice(last)) + "\n";
  }

  // Wrap `textarea` in an editor of `language` (python, javascript); `onChange(text)` follows
  // every edit.
  function attach(textarea, onChange, language = "python") {
    const { opensBlock, unit } = LANGUAGES[language];
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
      code.innerHTML = highlight(textarea.value, language);
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
        insert(unit);
      } else if (event.key === "Enter" && !event.shiftKey) {
        const before = textarea.value.slice(0, textarea.selectionStart);
        const line = before.slice(before.lastIndexOf("\n") + 1);
        let indent = line.match(/^\s*/)[0];
        if (opensBlock.test(line)) indent += unit;
        event.preventDefault();
        insert("\n" + indent);
      }
      escaped = false;
    });

    function dedent() {
      const start = textarea.value.lastIndexOf("\n", textarea.selectionStart - 1) + 1;
      const head = textarea.value.slice(start, start + unit.length);
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
