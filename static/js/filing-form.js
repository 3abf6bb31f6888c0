// Enterprise filing forms (no inline script: the content security policy forbids it).
// 1. Formsets: [data-formset="<prefix>"] holds a <template data-formset-template> with the empty form
//    (its names carry "__prefix__"), a <tbody data-formset-body> and a [data-formset-add] button.
//    "Add" clones the template with the next index and raises <prefix>-TOTAL_FORMS.
// 2. Region selects: a select with data-region-reset="#id_county" empties that select when it changes
//    (htmx loads the options of the next level itself).
(function () {
  "use strict";

  function addFormsetRow(container) {
    var prefix = container.getAttribute("data-formset");
    var total = container.querySelector('input[name="' + prefix + '-TOTAL_FORMS"]');
    var max = container.querySelector('input[name="' + prefix + '-MAX_NUM_FORMS"]');
    var template = container.querySelector("template[data-formset-template]");
    var body = container.querySelector("[data-formset-body]");
    if (!total || !template || !body) return null;
    var index = parseInt(total.value, 10) || 0;
    if (max && max.value && index >= parseInt(max.value, 10)) return null;
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    var holder = document.createElement("tbody");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    if (!row) return null;
    body.appendChild(row);
    total.value = String(index + 1);
    var first = row.querySelector("select, input, textarea");
    if (first) first.focus();
    return row;
  }

  function resetSelect(select) {
    if (!select) return;
    var placeholder = select.options.length ? select.options[0].cloneNode(true) : null;
    select.innerHTML = "";
    if (placeholder) {
      placeholder.value = "";
      select.appendChild(placeholder);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-formset]").forEach(function (container) {
      container.querySelectorAll("[data-formset-add]").forEach(function (button) {
        button.addEventListener("click", function (event) {
          event.preventDefault();
          addFormsetRow(container);
        });
      });
    });
    document.querySelectorAll("select[data-region-reset]").forEach(function (select) {
      select.addEventListener("change", function () {
        document.querySelectorAll(select.getAttribute("data-region-reset")).forEach(resetSelect);
      });
    });
  });

  window.filingForm = { addFormsetRow: addFormsetRow };
})();
