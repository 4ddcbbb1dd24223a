// The admin's few behaviours, served from our own origin (the Content-Security-Policy allows no
// inline script): a select that submits its form, and confirmation before a destructive action.
(function () {
  "use strict";
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t && t.hasAttribute && t.hasAttribute("data-autosubmit") && t.form) t.form.submit();
  });
  document.addEventListener("submit", function (e) {
    var b = e.submitter || e.target.querySelector("[data-confirm]");
    var text = (b && b.getAttribute && b.getAttribute("data-confirm")) || e.target.getAttribute("data-confirm");
    if (text && !window.confirm(text)) e.preventDefault();
  });
})();
