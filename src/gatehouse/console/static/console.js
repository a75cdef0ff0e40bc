/* Gatehouse console: progressive enhancement only. Every form also works without this file. */
"use strict";

(function () {
  var toastTimer = null;

  function toast(message) {
    var box = document.getElementById("toast");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.hidden = true; }, 4000);
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain http on a non-local address: the Clipboard API is absent; use a selection instead.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }

  function flashCopied(button) {
    button.classList.add("copied");
    setTimeout(function () { button.classList.remove("copied"); }, 1500);
  }

  function valueOf(id) {
    var el = document.getElementById(id);
    if (!el) return "";
    return "value" in el && el.tagName !== "PRE" ? el.value : el.textContent;
  }

  function setUpCopyButtons(root) {
    root.querySelectorAll("[data-copy], [data-copy-target]").forEach(function (button) {
      button.hidden = false;
      if (button.dataset.copyReady) return;
      button.dataset.copyReady = "1";
      button.addEventListener("click", function () {
        var text = button.dataset.copy || valueOf(button.dataset.copyTarget);
        var label = (button.getAttribute("aria-label") || "Copy").replace(/^Copy /, "");
        copyText(text).then(function () {
          flashCopied(button);
          toast("Copied " + label + " to the clipboard.");
        }, function () {
          toast("Could not copy. Select the text and copy it yourself.");
        });
      });
    });
  }

  // Destructive actions: a dialog here; without script, the server asks on its own page.
  function setUpConfirmations() {
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") return;
    var pending = null;
    var opener = null;
    document.querySelectorAll("form[data-confirm-title]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.querySelector("input[name=confirm]")) return;
        event.preventDefault();
        pending = form;
        opener = document.activeElement;
        document.getElementById("confirm-title").textContent = form.dataset.confirmTitle;
        document.getElementById("confirm-message").textContent = form.dataset.confirmMessage || "";
        var ok = document.getElementById("confirm-ok");
        ok.textContent = form.dataset.confirmButton || "Confirm";
        ok.className = "btn " + ("danger" in form.dataset ? "btn-danger" : "btn-primary");
        dialog.returnValue = "";
        dialog.showModal();
        ok.focus();
      });
    });
    dialog.addEventListener("close", function () {
      var form = pending;
      pending = null;
      if (form && dialog.returnValue === "confirm") {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "confirm";
        input.value = "yes";
        form.appendChild(input);
        form.submit();
      } else if (opener && opener.focus) {
        opener.focus();
      }
    });
  }

  // "Copy secret": fetch the secret and put it on the clipboard without leaving the page.
  function setUpCopySecret() {
    document.querySelectorAll("form[data-copy-secret]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var token = form.querySelector("input[name=csrf_token]").value;
        fetch(form.action, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Accept": "application/json", "X-CSRF-Token": token },
        }).then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        }).then(function (result) {
          if (!result.ok) {
            toast((result.body.messages || ["Could not read the secret."])[0]);
            return;
          }
          return copyText(result.body.client_secret).then(function () {
            closeMenus();
            toast("Client secret copied to the clipboard.");
          }, function () {
            form.submit(); // show it on a page instead
          });
        }).catch(function () {
          toast("Could not reach the server. Try again.");
        });
      });
    });
  }

  function closeMenus(except) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }

  function setUpMenus() {
    document.querySelectorAll("details.menu").forEach(function (menu) {
      menu.addEventListener("toggle", function () {
        if (menu.open) {
          closeMenus(menu);
          var first = menu.querySelector(".menu-items a, .menu-items button");
          if (first) first.focus();
        }
      });
      menu.addEventListener("keydown", function (event) {
        var items = Array.prototype.slice.call(
          menu.querySelectorAll(".menu-items a, .menu-items button"));
        var index = items.indexOf(document.activeElement);
        if (event.key === "Escape") {
          menu.removeAttribute("open");
          menu.querySelector("summary").focus();
        } else if (event.key === "ArrowDown" && items.length) {
          event.preventDefault();
          items[(index + 1) % items.length].focus();
        } else if (event.key === "ArrowUp" && items.length) {
          event.preventDefault();
          items[(index - 1 + items.length) % items.length].focus();
        }
      });
    });
    document.addEventListener("click", function (event) {
      if (!event.target.closest || !event.target.closest("details.menu")) closeMenus();
    });
  }

  // Secrets: without script a details/summary reveals them; with it, a password field and a
  // Show/Hide toggle (the copy button copies either way, without revealing).
  function setUpReveal() {
    document.querySelectorAll("details[data-reveal]").forEach(function (details) {
      var input = details.querySelector("input");
      if (!input) return;
      var label = details.closest(".field").querySelector("label").textContent;
      var toggle = document.createElement("button");
      toggle.type = "button";
      toggle.className = "btn secret-toggle";
      toggle.textContent = "Show";
      toggle.setAttribute("aria-pressed", "false");
      toggle.setAttribute("aria-label", "Show " + label);
      toggle.setAttribute("aria-controls", input.id);
      input.type = "password";
      details.parentNode.insertBefore(input, details);
      details.parentNode.insertBefore(toggle, details);
      details.parentNode.removeChild(details);
      toggle.addEventListener("click", function () {
        var show = input.type === "password";
        input.type = show ? "text" : "password";
        toggle.textContent = show ? "Hide" : "Show";
        toggle.setAttribute("aria-pressed", show ? "true" : "false");
        toggle.setAttribute("aria-label", (show ? "Hide " : "Show ") + label);
      });
    });
  }

  function focusFirstProblem() {
    var target = document.querySelector("[data-autofocus]");
    if (target) target.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpReveal();
    setUpCopyButtons(document);
    setUpConfirmations();
    setUpCopySecret();
    setUpMenus();
    focusFirstProblem();
  });

  window.gatehouse = { copyText: copyText, toast: toast, setUpCopyButtons: setUpCopyButtons };
})();
