// askdoc's chat page: citation numbers open their evidence, Copy copies Markdown, Export
// saves the conversation, "Open the whole document" and Remove call the server through hidden buttons.
(() => {
  const side = () => document.getElementById("side");

  function flash(el) {
    el.classList.add("askdoc-flash");
    setTimeout(() => el.classList.remove("askdoc-flash"), 1500);
  }

  // Show answer N's evidence (section ev-N), open citation K's passage and scroll to its mark.
  function showEvidence(id) {
    const section = document.getElementById(id.replace(/-[^-]+$/, ""));
    const passage = document.getElementById(id);
    if (!section || !passage) return;
    document.querySelectorAll("#sources .askdoc-evidence").forEach((s) => { s.hidden = s !== section; });
    passage.open = true;
    side()?.classList.add("open");
    const mark = passage.querySelector("mark") || passage;
    requestAnimationFrame(() => { mark.scrollIntoView({ block: "center" }); flash(passage); });
  }

  // Ask the server through a hidden Gradio button; its js hook reads window.askdocTarget.
  function call(button, value) {
    window.askdocTarget = value;
    document.getElementById(button)?.click();
  }

  async function copy(text) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (_) {  // no clipboard API outside a secure context: the old way
      const area = Object.assign(document.createElement("textarea"), { value: text });
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
  }

  // The conversation as Markdown: each question, then its reply as Copy gives it (the reading
  // of a follow-up, the quote, citations and sources), saved as a file.
  function exportMarkdown() {
    const parts = ["# askdoc conversation", ""];
    document.querySelectorAll("#chat .user-row, #chat .bot-row").forEach((row) => {
      if (row.classList.contains("user-row")) {
        parts.push(`**You:** ${row.innerText.trim()}`, "");
      } else {
        const md = row.querySelector(".askdoc-md");
        parts.push(md ? md.textContent.trim() : row.innerText.trim(), "", "---", "");
      }
    });
    const blob = new Blob([parts.join("\n")], { type: "text/markdown" });
    const link = Object.assign(document.createElement("a"), {
      href: URL.createObjectURL(blob), download: "askdoc-conversation.md",
    });
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  document.addEventListener("click", (event) => {
    const t = event.target;
    if (t.closest("#export")) {
      event.preventDefault();
      exportMarkdown();
      return;
    }
    const cite = t.closest("a.askdoc-cite");
    if (cite) {
      event.preventDefault();
      showEvidence(cite.getAttribute("href").slice(1));
      return;
    }
    const copyButton = t.closest("button.askdoc-copy");
    if (copyButton) {
      const md = copyButton.parentElement.querySelector(".askdoc-md");
      copy(md ? md.textContent : "").then(() => {
        copyButton.textContent = "Copied";
        setTimeout(() => { copyButton.textContent = "Copy"; }, 1500);
      });
      return;
    }
    const open = t.closest("a.askdoc-open");
    if (open) {
      event.preventDefault();
      side()?.classList.add("open");
      call("open-doc", open.dataset.target);
      return;
    }
    const remove = t.closest("button.askdoc-remove");
    if (remove) {
      if (window.confirm(`Remove “${remove.dataset.title}” from the index?`)) call("remove-doc", remove.dataset.doc);
      return;
    }
    if (t.closest("#side-close")) side()?.classList.remove("open");
    if (t.closest("#docs-link")) {
      event.preventDefault();
      side()?.classList.add("open");
      document.getElementById("documents")?.scrollIntoView({ block: "start" });
    }
  }, true);

  // After the server sent a document: scroll its view to the cited place.
  window.askdocShowDocument = () => {
    const mark = document.getElementById("askdoc-doc-mark");
    if (mark) {
      document.getElementById("document")?.scrollIntoView({ block: "start" });
      mark.scrollIntoView({ block: "center" });
      flash(mark);
    }
  };
})();
