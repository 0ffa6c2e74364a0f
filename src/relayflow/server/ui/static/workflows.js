// The workflows list: pause/activate through the API, and importing a YAML file.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { api, toast, busy } = window.relayflow;

  for (const button of document.querySelectorAll("[data-toggle-active]")) {
    button.addEventListener("click", () =>
      busy(button, async () => {
        const name = button.dataset.toggleActive;
        const active = button.dataset.active === "true";
        try {
          await api("POST", `workflows/${encodeURIComponent(name)}/${active ? "pause" : "activate"}`);
          window.location.reload();
        } catch (error) {
          toast(error.message);
        }
      })
    );
  }

  const file = document.getElementById("import-file");
  const problems = document.getElementById("import-problems");
  file.addEventListener("change", async () => {
    const chosen = file.files[0];
    if (!chosen) return;
    problems.hidden = true;
    try {
      const source = await chosen.text();
      const result = await api("POST", "workflows", { source, file: chosen.name });
      window.location.href = `/workflows/${encodeURIComponent(result.name)}`;
    } catch (error) {
      problems.textContent = `${chosen.name} was not imported:\n${error.problems.join("\n")}`;
      problems.hidden = false;
      problems.focus();
    } finally {
      file.value = "";
    }
  });
});
