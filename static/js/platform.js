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
  const names = new Map();
  const HEADINGS = "h1, h2, h3, h4, h5, h6, legend";
  // The table's caption, or else the nearest heading before it (in the document's order).
  const regionName = (region) => {
    const caption = region.querySelector("caption");
    if (caption) return caption.textContent.trim();
    for (let el = region; el && el !== document.body; el = el.parentElement) {
      for (let sib = el.previousElementSibling; sib; sib = sib.previousElementSibling) {
        const heading = sib.matches(HEADINGS) ? sib : [...sib.querySelectorAll(HEADINGS)].pop();
        if (heading && heading.textContent.trim()) return heading.textContent.trim();
      }
    }
    return "";
  };
  const enhance = (root) => {
    root.querySelectorAll(".table-responsive:not([data-scroll-region])").forEach((region) => {
      region.dataset.scrollRegion = "";
      region.setAttribute("tabindex", "0");
      region.setAttribute("role", "region");
      if (!region.hasAttribute("aria-label")) {
        let name = regionName(region) || hint;
        names.set(name, (names.get(name) || 0) + 1);
        if (names.get(name) > 1) name += ` (${names.get(name)})`;  // each region's name is its own
        region.setAttribute("aria-label", name);
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
