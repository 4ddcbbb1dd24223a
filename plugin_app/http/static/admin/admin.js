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

// ---- Program pages (admin-program) ----
// The widget look's live preview (colour, position, button text), and the reward/campaign
// fields that apply to the chosen kind only. CSSOM (element.style) is allowed by the CSP.
(function () {
  "use strict";
  function widgetPreview() {
    var fig = document.querySelector("[data-widget-preview]");
    if (!fig) return;
    var colour = document.querySelector("input[name='widget.colour']");
    var position = document.querySelector("select[name='widget.position']");
    var text = document.querySelector("input[name='widget.launcher_text']");
    var label = fig.querySelector("[data-wp-text]");
    var launcher = fig.querySelector("[data-wp-launcher]");
    function update() {
      if (colour && /^#[0-9a-f]{6}$/i.test(colour.value)) fig.style.setProperty("--wp", colour.value);
      if (position) fig.classList.toggle("left", position.value === "left");
      if (text && label) label.textContent = text.value.trim() || launcher.getAttribute("data-default-text");
    }
    [colour, position, text].forEach(function (el) {
      if (el) { el.addEventListener("input", update); el.addEventListener("change", update); }
    });
    update();
  }
  function kindFields() {
    document.querySelectorAll("fieldset.row").forEach(function (row) {
      var pick = row.querySelector("select[name$='.type'], select[name$='.kind']");
      if (!pick) return;
      function update() {
        row.querySelectorAll("[data-when]").forEach(function (box) {
          box.hidden = box.getAttribute("data-when").split(" ").indexOf(pick.value) < 0;
        });
      }
      pick.addEventListener("change", update);
      update();
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { widgetPreview(); kindFields(); });
  } else { widgetPreview(); kindFields(); }
})();

// ---- Segments (issue 20): a condition row offers the comparisons and values its fact allows ----
(function () {
  "use strict";
  function setup(row) {
    var fact = row.querySelector("[data-cond-field]");
    var op = row.querySelector("[data-cond-op]");
    if (!fact || !op) return;
    function update() {
      var chosen = fact.options[fact.selectedIndex];
      var allowed = (chosen.getAttribute("data-ops") || "").split(" ");
      // a comparison in the fact's own words (data-for) replaces the generic one of the same value
      var own = (chosen.getAttribute("data-own") || "").split(" ");
      Array.prototype.forEach.call(op.options, function (o) {
        var forFact = o.getAttribute("data-for");
        o.hidden = allowed.indexOf(o.value) < 0 || (forFact ? forFact !== fact.value : own.indexOf(o.value) >= 0);
        o.disabled = o.hidden;
      });
      var current = op.options[op.selectedIndex];
      if (!current || current.hidden) {
        var same = null, first = null;
        Array.prototype.forEach.call(op.options, function (o) {
          if (o.hidden) return;
          if (!first) first = o;
          if (!same && current && o.value === current.value) same = o;
        });
        if (same || first) (same || first).selected = true;
      }
      var kind = chosen.getAttribute("data-kind");
      var entries = row.querySelector("[data-cond-entries]");
      var isFact = kind === "tag" || kind === "product" || kind === "group";
      if (entries) {
        entries.hidden = !isFact;
        entries.querySelectorAll("[data-kind-text]").forEach(function (el) {
          el.hidden = el.getAttribute("data-kind-text") !== kind;
        });
      }
      var days = row.querySelector("[data-cond-days]");
      if (days) days.hidden = chosen.getAttribute("data-days") !== "1";
      var typed = row.querySelector("[data-cond-typed]");
      var listed = false;
      row.querySelectorAll("[data-cond-picks]").forEach(function (box) {
        var on = box.getAttribute("data-cond-picks") === fact.value;
        listed = listed || on;
        box.hidden = !on || op.value === "none";
        box.querySelectorAll("input").forEach(function (i) { i.disabled = !on; });
      });
      if (typed) typed.hidden = listed || isFact || op.value === "none";
      var between = op.value === "between";
      row.querySelectorAll("[data-cond-and], [data-cond-second]").forEach(function (el) { el.hidden = !between; });
    }
    fact.addEventListener("change", update);
    op.addEventListener("change", update);
    update();
  }
  function all() { document.querySelectorAll("[data-cond]").forEach(setup); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", all); else all();
})();

// ---- Fields that apply only with another's value: data-if="<input name> <value> [<value>...]" ----
// (a select's value, or "1" for a ticked checkbox); shown again by the server when the form comes back.
(function () {
  "use strict";
  function current(form, name) {
    var els = form.querySelectorAll("[name='" + name.replace(/'/g, "") + "']");
    for (var i = els.length - 1; i >= 0; i--) {
      var el = els[i];
      if (el.type === "checkbox") return el.checked ? "1" : "0";
      if (el.type !== "hidden") return el.value;
    }
    return "";
  }
  function update(form) {
    form.querySelectorAll("[data-if]").forEach(function (box) {
      var parts = box.getAttribute("data-if").split(" ");
      box.hidden = parts.slice(1).indexOf(current(form, parts[0])) < 0;
    });
  }
  function all() {
    document.querySelectorAll("form").forEach(function (form) {
      if (!form.querySelector("[data-if]")) return;
      form.addEventListener("change", function () { update(form); });
      update(form);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", all); else all();
})();
