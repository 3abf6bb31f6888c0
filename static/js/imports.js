// Bulk import pages: progress bars take their width from data-percent (the content security policy
// forbids inline style attributes), on load and after every htmx refresh of the progress panel.
(() => {
  const applyWidths = (root) => {
    root.querySelectorAll("[data-percent]").forEach((bar) => {
      bar.style.width = `${Math.max(0, Math.min(100, Number(bar.dataset.percent) || 0))}%`;
    });
  };
  document.addEventListener("DOMContentLoaded", () => applyWidths(document));
  document.addEventListener("htmx:load", (event) => applyWidths(event.detail.elt.parentElement || document));
})();
