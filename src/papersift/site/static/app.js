// papersift page behaviour. Data arrives as JSON in <script type="application/json">;
// every piece of text goes into the page through textContent, never innerHTML.
(function () {
  "use strict";
  var store = {
    get: function (k) { try { return localStorage.getItem(k); } catch (e) { return null; } },
    set: function (k, v) { try { localStorage.setItem(k, v); } catch (e) { /* ignore */ } }
  };
  var root = document.body.getAttribute("data-root") || "";
  var served = location.protocol === "http:" || location.protocol === "https:";

  var el = window.PS_DOM.el;  // static/dom.js

  // ---- theme: follows the system until the user picks one ----
  var html = document.documentElement;
  function systemDark() { return window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches; }
  function effectiveTheme() {
    var t = html.getAttribute("data-theme");
    return t === "auto" ? (systemDark() ? "dark" : "light") : t;
  }
  var themeBtn = document.getElementById("theme-toggle");
  if (themeBtn) themeBtn.addEventListener("click", function () {
    var next = effectiveTheme() === "dark" ? "light" : "dark";
    html.setAttribute("data-theme", next);
    store.set("ps-theme", next);
  });

  // ---- page data ----
  var dataEl = document.getElementById("page-data");
  var data = {};
  if (dataEl) { try { data = JSON.parse(dataEl.textContent); } catch (e) { data = {}; } }
  var cardsBox = document.getElementById("cards");
  var cards = cardsBox ? Array.prototype.slice.call(cardsBox.querySelectorAll(".card")) : [];

  // ---- language: falls back to English (the data already carries the fallback) ----
  function setLang(lang) {
    var btns = document.querySelectorAll("button.lang");
    var known = false;
    btns.forEach(function (b) { if (b.getAttribute("data-lang") === lang) known = true; });
    if (!known) lang = "en";
    btns.forEach(function (b) { b.setAttribute("aria-pressed", b.getAttribute("data-lang") === lang ? "true" : "false"); });
    html.setAttribute("lang", lang);
    cards.forEach(function (c) {
      var d = data[c.getAttribute("data-id")];
      if (!d || !d.rv) return;
      var rv = d.rv[lang] || d.rv.en;
      if (!rv) return;
      var a = c.querySelector(".ctitle a"), r = c.querySelector(".review"), fb = c.querySelector(".fb");
      if (a && rv[0]) a.textContent = rv[0];
      if (r && rv[1]) r.textContent = rv[1];
      if (fb) fb.hidden = !rv[2];
    });
    store.set("ps-lang", lang);
  }
  document.querySelectorAll("button.lang").forEach(function (b) {
    b.addEventListener("click", function () { setLang(b.getAttribute("data-lang")); });
  });
  setLang(store.get("ps-lang") || "en");

  // ---- sort (remembered) ----
  var sortSel = document.getElementById("sort");
  function applySort(key) {
    if (!cardsBox) return;
    var sorted = cards.slice().sort(function (a, b) {
      var da = data[a.getAttribute("data-id")] || {}, db = data[b.getAttribute("data-id")] || {};
      var va = da[key], vb = db[key];
      if (key === "up" || key === "st") { va = va || 0; vb = vb || 0; } else { va = va || ""; vb = vb || ""; }
      if (va < vb) return 1;
      if (va > vb) return -1;
      return (db.up || 0) - (da.up || 0);
    });
    sorted.forEach(function (c) { cardsBox.appendChild(c); });
  }
  if (sortSel) {
    var s0 = store.get("ps-sort");
    if (s0 === "up" || s0 === "pub" || s0 === "added" || s0 === "st") sortSel.value = s0;
    applySort(sortSel.value);
    sortSel.addEventListener("change", function () { store.set("ps-sort", sortSel.value); applySort(sortSel.value); });
  }

  // ---- tag filter: AND/OR, mirrored in the URL (?tags=cv,rl&mode=and) ----
  var modeBtn = document.getElementById("mode");
  var clearBtn = document.getElementById("clear-tags");
  var ftags = Array.prototype.slice.call(document.querySelectorAll("button.ftag"));
  var selected = [];
  var mode = "or";
  // has code / has weights (d.code, d.w), combined with the tags; URL: ?has=code,w
  var fres = Array.prototype.slice.call(document.querySelectorAll("button.fres"));
  var need = [];
  function applyFilter(pushUrl) {
    var shown = 0;
    cards.forEach(function (c) {
      var d = data[c.getAttribute("data-id")] || {};
      var tags = d.tags || [];
      var ok = selected.length === 0 || (mode === "and"
        ? selected.every(function (t) { return tags.indexOf(t) >= 0; })
        : selected.some(function (t) { return tags.indexOf(t) >= 0; }));
      ok = ok && need.every(function (k) { return !!d[k]; });
      c.hidden = !ok;
      if (ok) shown++;
    });
    ftags.forEach(function (b) { b.setAttribute("aria-pressed", selected.indexOf(b.getAttribute("data-tag")) >= 0 ? "true" : "false"); });
    if (modeBtn) { modeBtn.textContent = mode.toUpperCase(); modeBtn.setAttribute("data-mode", mode); }
    fres.forEach(function (b) { b.setAttribute("aria-pressed", need.indexOf(b.getAttribute("data-res")) >= 0 ? "true" : "false"); });
    if (clearBtn) clearBtn.hidden = selected.length === 0;
    var shownEl = document.getElementById("shown");
    if (shownEl) shownEl.textContent = shown === cards.length ? cards.length + " papers" : shown + " of " + cards.length + " papers";
    if (pushUrl && history.replaceState) {
      var p = new URLSearchParams(location.search);
      if (selected.length) { p.set("tags", selected.join(",")); p.set("mode", mode); } else { p.delete("tags"); p.delete("mode"); }
      if (need.length) p.set("has", need.join(",")); else p.delete("has");
      var qs = p.toString();
      try { history.replaceState(null, "", location.pathname + (qs ? "?" + qs : "") + location.hash); } catch (e) { /* file:// in some browsers */ }
    }
  }
  if (cards.length) {
    var params = new URLSearchParams(location.search);
    var valid = ftags.map(function (b) { return b.getAttribute("data-tag"); });
    selected = (params.get("tags") || "").split(",").filter(function (t) { return valid.indexOf(t) >= 0; });
    mode = params.get("mode") === "and" ? "and" : "or";
    need = (params.get("has") || "").split(",").filter(function (k) { return k === "code" || k === "w"; });
    fres.forEach(function (b) {
      b.addEventListener("click", function () {
        var k = b.getAttribute("data-res"), i = need.indexOf(k);
        if (i >= 0) need.splice(i, 1); else need.push(k);
        applyFilter(true);
      });
    });
    ftags.forEach(function (b) {
      b.addEventListener("click", function () {
        var t = b.getAttribute("data-tag"), i = selected.indexOf(t);
        if (i >= 0) selected.splice(i, 1); else selected.push(t);
        applyFilter(true);
      });
    });
    if (modeBtn) modeBtn.addEventListener("click", function () { mode = mode === "and" ? "or" : "and"; applyFilter(true); });
    if (clearBtn) clearBtn.addEventListener("click", function () { selected = []; applyFilter(true); });
    applyFilter(false);
  }

  // ---- "updated N hours ago" ----
  var upd = document.getElementById("updated");
  if (upd) {
    var t = Date.parse(upd.getAttribute("datetime"));
    if (!isNaN(t)) {
      var h = Math.max(0, Math.round((Date.now() - t) / 3600000));
      var txt = h < 1 ? "less than an hour ago" : h < 48 ? h + (h === 1 ? " hour ago" : " hours ago") : Math.round(h / 24) + " days ago";
      upd.textContent = txt;
      upd.title = upd.getAttribute("datetime");
    }
  }

  // ---- search: the box is on every page; search.html (static/search.js) answers it ----

  // ---- paper page: similar papers from the API when served and none were built in ----
  var simEmpty = document.getElementById("similar-empty");
  var paper = document.querySelector("article.paper");
  if (simEmpty && paper && served) {
    fetch(root + "api/papers/" + encodeURIComponent(paper.getAttribute("data-id")) + "/similar?limit=8")
      .then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .then(function (res) {
        var ul = document.querySelector("ul.similar");
        (res.results || []).forEach(function (it) {
          var li = el("li"), a = el("a", null, (it.emoji || "📄") + " " + it.title);
          a.href = root + "p/" + encodeURIComponent(it.slug) + ".html";
          li.appendChild(a); ul.appendChild(li);
        });
        if ((res.results || []).length) simEmpty.hidden = true;
        else simEmpty.textContent = "No similar papers found.";
      }).catch(function () { /* leave the note */ });
  }
})();
