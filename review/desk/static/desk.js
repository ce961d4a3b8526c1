// The desk's only script: select every row, print, and keep an unsaved note across the
// auto-lock. Served from the package (CSP 'self').
//
// An account page carries data-lock-after (the idle time, plus two seconds). When it
// passes with nothing typed, the page goes to /unlock, as every other page's refresh does.
// With a note or tag typed and not saved, the page is cleared all the same (the account
// leaves the screen, the server has dropped the key), but the typed text is kept in this
// script's memory only: never in sessionStorage or localStorage, which the browser writes
// to disk. Unlocking from the cleared page fetches the account again and puts the text
// back in its fields; leaving or reloading the page discards it.
"use strict";
(function () {
  var DRAFT_FIELDS = ["note", "add_tag"];

  function init() {
    var all = document.getElementById("select-all");
    if (all) {
      all.addEventListener("change", function () {
        document.querySelectorAll("input.row-select").forEach(function (box) {
          box.checked = all.checked;
        });
      });
    }
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    var after = Number(document.body.getAttribute("data-lock-after"));
    if (after > 0) {
      window.setTimeout(lockedItself, after * 1000);
    }
  }

  function draftsOf() {
    var form = document.querySelector("form.triage");
    var drafts = {};
    var any = false;
    if (!form) {
      return null;
    }
    DRAFT_FIELDS.forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (field && field.value.trim() !== "") {
        drafts[name] = field.value;
        any = true;
      }
    });
    return any ? drafts : null;
  }

  function lockedItself() {
    var drafts = draftsOf();
    var panel = document.getElementById("locked-with-draft");
    if (!drafts || !panel) {
      window.location.replace("/unlock");
      return;
    }
    var path = window.location.pathname;
    document.body.replaceChildren(panel.content.cloneNode(true));
    var form = document.querySelector("form.unlock");
    var field = document.getElementById("relock-passphrase");
    field.focus();
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      unlockAndRestore(field, path, drafts);
    });
  }

  function parsed(text) {
    return new DOMParser().parseFromString(text, "text/html");
  }

  function tell(message) {
    var problem = document.getElementById("relock-problem");
    problem.textContent = message;
    problem.hidden = false;
  }

  function unlockAndRestore(field, path, drafts) {
    var passphrase = field.value;
    var unreachable = document.querySelector("[data-unreachable]").textContent;
    fetch("/unlock", { credentials: "same-origin" })
      .then(function (answer) { return answer.text(); })
      .then(function (text) {
        var token = parsed(text).querySelector('input[name="csrf"]');
        var body = new URLSearchParams();
        body.set("csrf", token ? token.value : "");
        body.set("passphrase", passphrase);
        return fetch("/unlock", { method: "POST", body: body, credentials: "same-origin" });
      })
      .then(function (answer) {
        return answer.text().then(function (text) {
          if (answer.ok && new URL(answer.url).pathname !== "/unlock") {
            return fetch(path, { credentials: "same-origin" }).then(function (page) {
              return page.text().then(function (html) { restore(parsed(html), drafts); });
            });
          }
          var problem = parsed(text).getElementById("problem");
          field.value = "";
          field.focus();
          tell(problem ? problem.textContent : unreachable);
          return null;
        });
      })
      .catch(function () { tell(unreachable); });
  }

  function restore(page, drafts) {
    document.title = page.title;
    document.body.replaceWith(document.importNode(page.body, true));
    var form = document.querySelector("form.triage");
    if (form) {
      Object.keys(drafts).forEach(function (name) {
        var field = form.elements.namedItem(name);
        if (field) {
          field.value = drafts[name];
        }
      });
      var note = form.elements.namedItem("note");
      if (note) {
        note.focus();
      }
    }
    init();
  }

  document.addEventListener("DOMContentLoaded", init);
})();
