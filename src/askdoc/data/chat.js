// askdoc's chat page: citation numbers preview and open their evidence, Copy copies Markdown,
// Export saves the conversation, votes and "Open the whole document" and Remove call the
// server through hidden buttons; the theme toggle, keyboard keys, a live region for screen
// readers, and the examples folding away once the chat has begun.
(() => {
  const side = () => document.getElementById("side");
  const phone = () => window.matchMedia("(max-width: 820px)").matches;
  let lastPointer = "mouse";

  function flash(el) {
    el.classList.add("askdoc-flash");
    setTimeout(() => el.classList.remove("askdoc-flash"), 1500);
  }

  // Screen readers hear new answers and opened citations through one polite live region.
  function announce(text) {
    let live = document.getElementById("askdoc-live");
    if (!live) {
      live = Object.assign(document.createElement("div"), { id: "askdoc-live", className: "sr-only" });
      live.setAttribute("role", "status");
      live.setAttribute("aria-live", "polite");
      document.body.appendChild(live);
    }
    live.textContent = "";
    setTimeout(() => { live.textContent = text.slice(0, 600); }, 50);
  }

  // --- Theme: light or dark, as picked here (remembered), else as the system says. ---
  const THEME_KEY = "askdoc-theme";
  function picked() { try { return localStorage.getItem(THEME_KEY); } catch (_) { return null; } }
  function applyTheme() {
    const want = picked();
    if (want === "dark" || want === "light") {
      const dark = want === "dark";
      if (document.body.classList.contains("dark") !== dark) document.body.classList.toggle("dark", dark);
    }
    const toggle = document.getElementById("theme-toggle");
    if (toggle) {
      const dark = document.body.classList.contains("dark");
      const label = dark ? "Light theme" : "Dark theme";
      if (toggle.textContent !== label) toggle.textContent = label;
      toggle.setAttribute("aria-pressed", String(dark));
    }
  }

  // Show answer N's evidence (section ev-N), open citation K's passage and scroll to its mark.
  function showEvidence(id) {
    const section = document.getElementById(id.replace(/-[^-]+$/, ""));
    const passage = document.getElementById(id);
    if (!section || !passage) return;
    hidePreview();
    document.querySelectorAll("#sources .askdoc-evidence").forEach((s) => { s.hidden = s !== section; });
    passage.open = true;
    side()?.classList.add("open");
    const mark = passage.querySelector("mark") || passage;
    requestAnimationFrame(() => {
      const panel = side();
      if (phone() && panel) {
        // The sheet opens at its heading; down to the passage only when the mark would not show.
        panel.scrollTop = 0;
        const bar = document.getElementById("side-close-wrap")?.offsetHeight || 0;
        const r = mark.getBoundingClientRect(), p = panel.getBoundingClientRect();
        if (r.bottom > p.bottom) {
          const head = passage.querySelector("summary") || passage;
          panel.scrollTop += head.getBoundingClientRect().top - p.top - bar - 4;
          if (mark.getBoundingClientRect().bottom > p.bottom) mark.scrollIntoView({ block: "nearest" });
        }
        document.getElementById("side-close")?.focus({ preventScroll: true });
      } else {
        mark.scrollIntoView({ block: "center" });
      }
      flash(passage);
    });
    announce(`Source opened: ${passage.querySelector("summary")?.innerText || ""}. ${mark.innerText}`);
  }

  function closeSheet() {
    const panel = side();
    if (!panel || !panel.classList.contains("open")) return false;
    panel.classList.remove("open");
    document.querySelector("#question textarea")?.focus({ preventScroll: true });
    return true;
  }

  // --- Citation previews: the cited sentence in a popover, before the side panel opens. ---
  let previewFor = null;
  function preview(cite) {
    const id = cite.getAttribute("href").slice(1);
    const passage = document.getElementById(id);
    const mark = passage?.querySelector("mark");
    if (!mark) return false;
    let pop = document.getElementById("askdoc-popover");
    if (!pop) {
      pop = Object.assign(document.createElement("div"), { id: "askdoc-popover" });
      pop.setAttribute("role", "tooltip");
      document.body.appendChild(pop);
    }
    const where = passage.querySelector("summary")?.textContent.replace(/^\[\d+\]\s*/, "") || "";
    pop.replaceChildren(
      // (textContent: a closed <details> renders nothing, and innerText reads "" there)
      Object.assign(document.createElement("q"), { textContent: mark.textContent.trim() }),
      Object.assign(document.createElement("span"), { className: "askdoc-pop-where", textContent: where }),
    );
    if (lastPointer === "touch") {
      const open = Object.assign(document.createElement("button"), {
        type: "button", className: "askdoc-pop-open", textContent: "Show in Sources",
      });
      open.dataset.target = id;
      pop.appendChild(open);
    }
    // A mouse preview never takes a click meant for what lies under it; a tap's has a button.
    pop.style.pointerEvents = lastPointer === "touch" ? "auto" : "none";
    pop.hidden = false;
    const r = cite.getBoundingClientRect();
    const width = Math.min(360, window.innerWidth - 16);
    pop.style.width = `${width}px`;
    pop.style.left = `${Math.max(8, Math.min(r.left + window.scrollX, window.scrollX + window.innerWidth - width - 8))}px`;
    const below = r.bottom + 6 + pop.offsetHeight < window.innerHeight;
    pop.style.top = `${(below ? r.bottom + 6 : r.top - 6 - pop.offsetHeight) + window.scrollY}px`;
    cite.setAttribute("aria-describedby", "askdoc-popover");
    previewFor = cite;
    return true;
  }
  function hidePreview() {
    const pop = document.getElementById("askdoc-popover");
    if (pop) pop.hidden = true;
    previewFor?.removeAttribute("aria-describedby");
    previewFor = null;
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

  function openDocuments(focusUpload) {
    side()?.classList.add("open");
    document.getElementById("documents")?.scrollIntoView({ block: "start" });
    if (focusUpload) document.querySelector("#upload button, #upload input")?.focus({ preventScroll: true });
  }

  document.addEventListener("pointerdown", (event) => { lastPointer = event.pointerType || "mouse"; }, true);

  document.addEventListener("click", (event) => {
    const t = event.target;
    if (t.closest("#export")) {
      event.preventDefault();
      exportMarkdown();
      return;
    }
    if (t.closest("#theme-toggle")) {
      const dark = !document.body.classList.contains("dark");
      try { localStorage.setItem(THEME_KEY, dark ? "dark" : "light"); } catch (_) { /* private mode */ }
      applyTheme();
      return;
    }
    const popOpen = t.closest(".askdoc-pop-open");
    if (popOpen) {
      showEvidence(popOpen.dataset.target);
      return;
    }
    const cite = t.closest("a.askdoc-cite");
    if (cite) {
      event.preventDefault();
      // A tap previews first (there is no hover on a touch screen); the next tap opens it.
      if (lastPointer === "touch" && previewFor !== cite && preview(cite)) return;
      showEvidence(cite.getAttribute("href").slice(1));
      return;
    }
    if (!t.closest("#askdoc-popover")) hidePreview();
    const copyButton = t.closest("button.askdoc-copy");
    if (copyButton) {
      const md = copyButton.parentElement.querySelector(".askdoc-md");
      copy(md ? md.textContent : "").then(() => {
        copyButton.textContent = "Copied";
        announce("Copied the answer as Markdown.");
        setTimeout(() => { copyButton.textContent = "Copy"; }, 1500);
      });
      return;
    }
    const voteButton = t.closest("button.askdoc-vote");
    if (voteButton) {
      const group = voteButton.closest(".askdoc-feedback");
      const record = group?.parentElement?.querySelector(".askdoc-case");
      let said = null;
      try { said = JSON.parse(record?.textContent || "null"); } catch (_) { said = null; }
      group?.querySelectorAll(".askdoc-vote").forEach((b) => b.setAttribute("aria-pressed", String(b === voteButton)));
      const vote = voteButton.classList.contains("askdoc-vote-down") ? "down" : "up";
      call("vote", JSON.stringify({ vote, case: said }));
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
    const toggle = t.closest("#examples-toggle");
    if (toggle) {
      document.getElementById("layout")?.classList.toggle("askdoc-examples-open");
      foldExamples();
      return;
    }
    if (t.closest("#side-close")) closeSheet();
    if (t.closest("#docs-link") || t.closest("a.askdoc-add")) {
      event.preventDefault();
      openDocuments(Boolean(t.closest("a.askdoc-add")));
    }
  }, true);

  // Hover or keyboard focus on [n] previews it too.
  document.addEventListener("pointerover", (event) => {
    const cite = event.target.closest?.("a.askdoc-cite");
    if (cite && event.pointerType === "mouse") preview(cite);
  });
  document.addEventListener("pointerout", (event) => {
    const cite = event.target.closest?.("a.askdoc-cite");
    if (cite && event.pointerType === "mouse" && !cite.contains(event.relatedTarget)) hidePreview();
  });
  // Keyboard focus previews too; focus that follows a tap or a click is theirs to handle.
  document.addEventListener("keydown", () => { lastPointer = "keyboard"; }, true);
  document.addEventListener("focusin", (event) => {
    const cite = event.target.closest?.("a.askdoc-cite");
    if (cite && lastPointer === "keyboard") preview(cite);
    else if (!cite && !event.target.closest?.("#askdoc-popover")) hidePreview();
  });

  // "/" goes to the question box (unless typing somewhere); Esc closes a preview, then the sheet.
  document.addEventListener("keydown", (event) => {
    const t = event.target;
    const typing = t.closest?.("input, textarea, select, [contenteditable='true']");
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      const box = document.querySelector("#question textarea");
      if (box) { event.preventDefault(); box.focus(); }
    } else if (event.key === "Escape") {
      if (previewFor) { hidePreview(); return; }
      if (closeSheet()) event.preventDefault();
    }
  });

  // --- The chat as it changes: accessible names, announcements, the examples folding. ---
  // (The classes go on #layout: Gradio scopes the page's CSS to its container.)
  function foldExamples() {
    const layout = document.getElementById("layout");
    if (!layout) return;
    const asked = Boolean(document.querySelector("#chat .bot-row"));
    const open = layout.classList.contains("askdoc-examples-open");
    if (layout.classList.contains("askdoc-folded") !== (asked && !open)) layout.classList.toggle("askdoc-folded", asked && !open);
    if (!asked && open) layout.classList.remove("askdoc-examples-open");
    document.getElementById("examples-toggle")?.setAttribute("aria-expanded", String(!asked || open));
  }

  // Gradio names each message "bot's message: <its HTML>"; a screen reader should hear the text.
  function nameMessages() {
    document.querySelectorAll("#chat [aria-label]").forEach((el) => {
      const label = el.getAttribute("aria-label");
      const m = /^(bot|user)'s message: /.exec(label || "");
      if (!m) return;
      // textContent, not innerText: no layout forced on every change of the page.
      const text = (el.querySelector(".askdoc-quote, .askdoc-none") || el).textContent.replace(/\s+/g, " ").trim();
      el.setAttribute("aria-label", `${m[1] === "bot" ? "Answer" : "Question"}: ${text.slice(0, 300)}`);
    });
  }

  // What the chat's sanitizer strips from a message (aria- attributes), added here.
  function labelControls() {
    document.querySelectorAll("#chat .askdoc-feedback:not([aria-label])").forEach((g) => {
      g.setAttribute("aria-label", "Was this answer right?");
      g.querySelectorAll(".askdoc-vote").forEach((b) => b.setAttribute("aria-pressed", "false"));
    });
    document.querySelectorAll("#chat a.askdoc-cite:not([aria-label])").forEach((a) => {
      a.setAttribute("aria-label", `Source ${a.textContent.trim()}`);
    });
  }

  let answers = 0;
  function onChatChange() {
    labelControls();
    nameMessages();
    foldExamples();
    const rows = document.querySelectorAll("#chat .bot-row");
    if (rows.length > answers) {
      const last = rows[rows.length - 1];
      const text = (last.querySelector(".askdoc-quote, .askdoc-none, .askdoc-error") || last).textContent;
      if (answers || document.readyState === "complete") announce(`Answer: ${text.replace(/\s+/g, " ").trim()}`);
    }
    answers = rows.length;
    const box = document.querySelector("#question textarea");
    if (box && !box.getAttribute("aria-label")) box.setAttribute("aria-label", "Your question");
    if (box && !box.getAttribute("aria-keyshortcuts")) box.setAttribute("aria-keyshortcuts", "/");
  }

  // One pass per frame at most, and only for changes in the chat or the header (the theme toggle).
  let pending = false;
  new MutationObserver((changes) => {
    if (pending || !changes.some((c) => c.target.closest?.("#chat, #top, body > *:not(.gradio-container)")
      || c.target === document.body)) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; onChatChange(); applyTheme(); });
  }).observe(document.documentElement, { childList: true, subtree: true, attributes: true,
    attributeFilter: ["class", "aria-label"] });

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
