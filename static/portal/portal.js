// distr portal: progressive enhancement only. Every page works without this file except
// the copy buttons (hidden until this script shows them) and the live grant preview
// (which falls back to a "Preview" submit button).
(function () {
  "use strict";

  function copyText(text, button) {
    // Only the visible word changes: replacing the button's whole text would drop the
    // visually-hidden part of its label, which then showed up over the command.
    var state = button.querySelector(".copy-state") || button;
    var done = function () {
      state.textContent = "Copied";
      button.setAttribute("aria-live", "polite");
      setTimeout(function () { state.textContent = "Copy"; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else {
      fallbackCopy(text);
      done();
    }
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more we can do */ }
    document.body.removeChild(area);
  }

  function setUpCopyButtons() {
    document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var target = document.getElementById(button.getAttribute("data-copy"));
        if (target) { copyText(target.textContent.trim(), button); }
      });
    });
  }

  function setUpGrantPreview() {
    var form = document.querySelector("form[data-preview-url]");
    var output = document.getElementById("grant-preview");
    if (!form || !output) { return; }
    var timer = null;
    var refresh = function () {
      var data = new FormData(form);
      var params = new URLSearchParams();
      ["repository", "rule", "pattern"].forEach(function (k) { params.set(k, data.get(k) || ""); });
      fetch(form.getAttribute("data-preview-url") + "?" + params.toString(), {
        headers: { "X-Requested-With": "fetch" }, credentials: "same-origin"
      }).then(function (r) { return r.text(); }).then(function (html) { output.innerHTML = html; });
    };
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 250); });
    form.addEventListener("change", refresh);
    var fallback = form.querySelector("[data-preview-fallback]");
    if (fallback) { fallback.hidden = true; }
    refresh();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpCopyButtons();
    setUpGrantPreview();
  });
})();
