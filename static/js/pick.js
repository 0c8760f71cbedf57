// Bulk steps of a list (issue 13): "select all on this page" ticks every row's box of a form, and the form's button
// shows how many are ticked. A file rather than inline code because the Content-Security-Policy runs no inline
// script. Without it the boxes still work one by one.
(function () {
  function boxes(formId) {
    return Array.prototype.slice.call(document.querySelectorAll('input.app-pick[form="' + formId + '"]'));
  }

  function update(formId) {
    var ticked = boxes(formId).filter(function (box) { return box.checked; }).length;
    document.querySelectorAll('#' + formId + ' [data-picked-count]').forEach(function (counter) {
      counter.textContent = String(ticked);
      counter.hidden = false;
    });
    document.querySelectorAll('[data-pick-all="' + formId + '"]').forEach(function (all) {
      var total = boxes(formId).length;
      all.checked = total > 0 && ticked === total;
      all.indeterminate = ticked > 0 && ticked < total;
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement)) {
      return;
    }
    var all = target.getAttribute("data-pick-all");
    if (all) {
      boxes(all).forEach(function (box) { box.checked = target.checked; });
      update(all);
    } else if (target.classList.contains("app-pick") && target.getAttribute("form")) {
      update(target.getAttribute("form"));
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-pick-all]").forEach(function (all) {
      update(all.getAttribute("data-pick-all"));
    });
  });
})();
