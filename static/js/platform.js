// Small behaviours without inline script (the content security policy forbids inline script).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-autosubmit-select]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
  document.querySelectorAll("[data-print]").forEach((el) => {
    el.addEventListener("click", () => window.print());
  });
  // A "select all" checkbox: data-check-all="<name>" ticks or clears every checkbox of that name in its form.
  document.querySelectorAll("[data-check-all]").forEach((all) => {
    const boxes = () => [...all.form.querySelectorAll(`input[type=checkbox][name="${all.dataset.checkAll}"]`)];
    all.addEventListener("change", () => boxes().forEach((box) => { box.checked = all.checked; }));
    all.form.addEventListener("change", (event) => {
      if (event.target === all) return;
      const ticked = boxes().filter((box) => box.checked).length;
      all.checked = ticked > 0 && ticked === boxes().length;
      all.indeterminate = ticked > 0 && ticked < boxes().length;
    });
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
  let ids = 0;
  const HEADINGS = "h1, h2, h3, h4, h5, h6, legend";
  // The table's caption, or else the nearest heading before it (in the document's order).
  const namingElement = (region) => {
    const caption = region.querySelector("caption");
    if (caption && caption.textContent.trim()) return caption;
    for (let el = region; el && el !== document.body; el = el.parentElement) {
      for (let sib = el.previousElementSibling; sib; sib = sib.previousElementSibling) {
        const heading = sib.matches(HEADINGS) ? sib : [...sib.querySelectorAll(HEADINGS)].pop();
        if (heading && heading.textContent.trim()) return heading;
      }
    }
    return null;
  };
  // The region is named by reference (aria-labelledby) to its caption or heading, so that the name is that
  // element's own text, in its language and with its marks (a name a user typed stays translate="no");
  // a second region named by the same element gets a hidden " (2)" referenced beside it.
  const enhance = (root) => {
    root.querySelectorAll(".table-responsive:not([data-scroll-region])").forEach((region) => {
      region.dataset.scrollRegion = "";
      region.setAttribute("tabindex", "0");
      region.setAttribute("role", "region");
      if (!region.hasAttribute("aria-label") && !region.hasAttribute("aria-labelledby")) {
        const source = namingElement(region);
        if (source) {
          if (!source.id) source.id = `region-name-${++ids}`;
          const seen = (names.get(source.id) || 0) + 1;
          names.set(source.id, seen);
          let labelledby = source.id;
          if (seen > 1) {
            const suffix = document.createElement("span");
            suffix.className = "visually-hidden";
            suffix.id = `region-name-${++ids}`;
            suffix.textContent = ` (${seen})`;
            region.before(suffix);
            labelledby += ` ${suffix.id}`;
          }
          region.setAttribute("aria-labelledby", labelledby);
        } else {
          const seen = (names.get(hint) || 0) + 1;
          names.set(hint, seen);
          region.setAttribute("aria-label", seen > 1 ? `${hint} (${seen})` : hint);
        }
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
