// Small behaviours without inline script (the content security policy forbids inline script).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-autosubmit-select]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
  document.querySelectorAll("[data-print]").forEach((el) => {
    el.addEventListener("click", () => window.print());
  });
  document.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener("click", (event) => {
      if (!window.confirm(el.dataset.confirm)) event.preventDefault();
    });
  });
  // Wide tables scroll sideways inside .table-responsive: the region takes the keyboard focus (arrow keys
  // scroll it), is named for screen readers, and shows a hint whenever a column lies off-screen.
  const hint = document.body.dataset.scrollHint || "";
  const mark = () => document.querySelectorAll(".table-responsive").forEach((region) => {
    region.classList.toggle("is-overflowing", region.scrollWidth > region.clientWidth + 1);
  });
  const enhance = (root) => {
    root.querySelectorAll(".table-responsive:not([data-scroll-region])").forEach((region) => {
      region.dataset.scrollRegion = "";
      region.setAttribute("tabindex", "0");
      region.setAttribute("role", "region");
      if (!region.hasAttribute("aria-label")) {
        const caption = region.querySelector("caption");
        const before = region.previousElementSibling;
        const heading = before && /^H[1-6]$/.test(before.tagName) ? before : null;
        const name = (caption || heading || {}).textContent;
        region.setAttribute("aria-label", (name || "").trim() || hint);
      }
      const note = document.createElement("p");
      note.className = "table-scroll-hint";
      note.setAttribute("aria-hidden", "true");
      note.textContent = hint;
      region.before(note);
    });
    mark();
  };
  enhance(document);
  window.addEventListener("resize", mark);
  document.body.addEventListener("htmx:afterSettle", (event) => enhance(event.target.parentElement || document));
});
