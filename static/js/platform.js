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
  const regions = document.querySelectorAll(".table-responsive");
  regions.forEach((region) => {
    region.setAttribute("tabindex", "0");
    region.setAttribute("role", "region");
    if (!region.hasAttribute("aria-label")) {
      const caption = region.querySelector("caption");
      const heading = region.previousElementSibling && /^H[1-6]$/.test(region.previousElementSibling.tagName)
        ? region.previousElementSibling : null;
      const name = (caption || heading || {}).textContent;
      region.setAttribute("aria-label", (name || "").trim() || hint);
    }
    const note = document.createElement("p");
    note.className = "table-scroll-hint";
    note.setAttribute("aria-hidden", "true");
    note.textContent = hint;
    region.before(note);
  });
  const mark = () => regions.forEach((region) => {
    region.classList.toggle("is-overflowing", region.scrollWidth > region.clientWidth + 1);
  });
  mark();
  window.addEventListener("resize", mark);
});
