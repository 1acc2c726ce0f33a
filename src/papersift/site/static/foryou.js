// papersift "For you": the reader's likes, hides and rules, kept in this browser
// (localStorage), and the recent days' papers ranked against them here. The data are
// scripts the build publishes (foryou/index.js, foryou/d/<day>.js) because a page opened
// from file:// may load a script beside it but not fetch() a JSON file. Nothing is sent
// anywhere. Every piece of text goes into the page through textContent, never innerHTML.
(function () {
  "use strict";
  var KEY = "ps-foryou";
  var LISTS = ["liked", "hidden", "keywords", "authors", "negative_keywords", "tags"];
  var root = document.body.getAttribute("data-root") || "";
  var served = location.protocol === "http:" || location.protocol === "https:";

  var el = window.PS_DOM.el;  // static/dom.js
  function button(cls, text, onClick) {
    var b = el("button", cls, text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  // ---- the profile: the TEAM export format, plus `seeds` (liked papers' titles and
  // vectors, so a liked paper older than the published days still counts) ----
  function blank() {
    return { papersift_profile: 1, name: "for-you", liked: [], hidden: [], keywords: [],
             authors: [], negative_keywords: [], tags: [], seeds: {} };
  }

  // A profile from parsed JSON, or an Error naming the field and what is wrong.
  function validate(obj, where) {
    if (!obj || typeof obj !== "object" || Array.isArray(obj)) throw new Error(where + ": not a papersift profile (a JSON object is expected)");
    if (obj.papersift_profile !== 1) throw new Error(where + ": \"papersift_profile\" must be 1 (not a papersift profile export)");
    var p = blank();
    if (obj.name !== undefined) {
      if (typeof obj.name !== "string") throw new Error(where + ": \"name\" must be a string");
      p.name = obj.name.trim().slice(0, 60) || p.name;
    }
    LISTS.forEach(function (k) {
      var v = obj[k];
      if (v === undefined || v === null) return;
      if (!Array.isArray(v) || v.some(function (x) { return typeof x !== "string"; })) {
        throw new Error(where + ": \"" + k + "\" must be a list of strings");
      }
      var seen = {};
      p[k] = v.map(function (x) { return x.trim(); }).filter(function (x) {
        if (!x || seen[x]) return false;
        seen[x] = true;
        return true;
      });
    });
    var s = obj.seeds;
    if (s && typeof s === "object" && !Array.isArray(s)) {
      Object.keys(s).forEach(function (id) {
        var e = s[id];
        if (e && typeof e === "object" && typeof e.t === "string" &&
            (e.v === undefined || typeof e.v === "string") && (e.m === undefined || typeof e.m === "string")) {
          p.seeds[id] = { t: e.t, v: e.v, m: e.m };
        }
      });
    }
    return p;
  }

  function loadProfile() {
    try {
      var raw = localStorage.getItem(KEY);
      return raw ? validate(JSON.parse(raw), "saved profile") : blank();
    } catch (e) { return blank(); }
  }
  var profile = loadProfile();
  var listeners = [];
  function saveProfile() {
    try { localStorage.setItem(KEY, JSON.stringify(profile)); } catch (e) { /* storage full or off */ }
    listeners.forEach(function (f) { f(); });
  }
  function has(list, id) { return profile[list].indexOf(id) >= 0; }
  function toggle(list, id, title) {
    var other = list === "liked" ? "hidden" : "liked";
    var i = profile[list].indexOf(id);
    if (i >= 0) profile[list].splice(i, 1);
    else {
      profile[list].push(id);
      var j = profile[other].indexOf(id);
      if (j >= 0) profile[other].splice(j, 1);  // liked and hidden exclude each other
    }
    if (list === "liked" && i < 0 && title) {
      var seed = profile.seeds[id] || {};
      seed.t = seed.t || title;
      profile.seeds[id] = seed;
    }
    if (!has("liked", id)) delete profile.seeds[id];
    saveProfile();
  }

  // ---- like / hide buttons on every card (day, week, month, topic pages) and paper page ----
  function cardTitle(card) {
    var t = card.querySelector(".otitle") || card.querySelector(".ctitle a") || card.querySelector("h1");
    return t ? t.textContent : "";
  }
  // `live`: also follow changes made elsewhere on the page (the For-you page re-renders its
  // own cards instead).
  function actions(id, title, onChange, live) {
    var box = el("p", "fy-actions");
    var like = button("fy-like", "", function () { toggle("liked", id, title()); });
    var hide = button("fy-hide", "", function () { toggle("hidden", id, title()); });
    function sync() {
      var l = has("liked", id), h = has("hidden", id);
      like.textContent = l ? "♥ liked" : "♡ like";
      like.setAttribute("aria-pressed", l ? "true" : "false");
      like.title = l ? "Remove from the papers you like" : "Like: rank papers close to this one first on the For-you page";
      hide.textContent = h ? "unhide" : "hide";
      hide.setAttribute("aria-pressed", h ? "true" : "false");
      hide.title = h ? "Show this paper again" : "Never show this paper on the For-you page";
      if (onChange) onChange(l, h);
    }
    box.appendChild(like);
    box.appendChild(hide);
    if (live) listeners.push(sync);
    sync();
    return box;
  }
  document.querySelectorAll(".card[data-id], article.paper[data-id]").forEach(function (card) {
    if (card.querySelector(".fy-actions")) return;
    var id = card.getAttribute("data-id");
    card.appendChild(actions(id, function () { return cardTitle(card); }, function (l, h) {
      card.classList.toggle("fy-hidden", h);
      card.classList.toggle("fy-liked", l);
    }, true));
  });

  if (document.body.getAttribute("data-page") !== "foryou") return;

  // ---- the For-you page ----
  var meta = window.PAPERSIFT_FORYOU;
  var status = document.getElementById("fy-status");
  var message = document.getElementById("fy-message");
  if (!meta || meta.format !== 1) {
    status.textContent = "No For-you data next to this page: run papersift build.";
    return;
  }
  document.getElementById("fy-profile").hidden = false;
  var W = meta.weights;
  var papers = {}, order = [], loaded = {};
  var vecCache = {};

  // int8 base64 -> unit Float32Array (cosine ignores the int8 scale).
  function vector(b64) {
    if (!b64) return null;
    if (vecCache[b64]) return vecCache[b64];
    var bin;
    try { bin = atob(b64); } catch (e) { return null; }
    var v = new Float32Array(bin.length), n = 0;
    for (var i = 0; i < bin.length; i++) {
      var x = bin.charCodeAt(i);
      x = x > 127 ? x - 256 : x;
      v[i] = x;
      n += x * x;
    }
    n = Math.sqrt(n) || 1;
    for (var k = 0; k < v.length; k++) v[k] /= n;
    vecCache[b64] = v;
    return v;
  }
  function dot(a, b) {
    if (a.length !== b.length) return 0;
    var s = 0;
    for (var i = 0; i < a.length; i++) s += a[i] * b[i];
    return s;
  }
  function isWordChar(ch) { return !!ch && /[\p{L}\p{N}]/u.test(ch); }
  // `needle` (lower case) at a word start in `text` (lower case); `whole`: also at a word end.
  function wordAt(text, needle, whole) {
    if (!needle) return false;
    var i = text.indexOf(needle);
    while (i >= 0) {
      if (!isWordChar(text.charAt(i - 1)) && (!whole || !isWordChar(text.charAt(i + needle.length)))) return true;
      i = text.indexOf(needle, i + 1);
    }
    return false;
  }
  function normName(s) { return s.toLowerCase().replace(/[.\s]+/g, " ").trim(); }
  function text(p) {
    if (p._text === undefined) p._text = ((p.t || "") + "\n" + (p.x || "")).toLowerCase();
    return p._text;
  }

  function seeds() {
    var out = [];
    profile.liked.forEach(function (id) {
      var p = papers[id], s = profile.seeds[id] || {};
      var v = p && p.v ? p.v : (s.m === meta.model ? s.v : null);
      var vec = vector(v);
      if (vec) out.push({ id: id, t: (p && p.t) || s.t || id, vec: vec });
    });
    return out;
  }

  // The ranking (TEAM spec; weights from the build): best cosine to a liked paper, plus a
  // boost per matching keyword, author and tag; a negative keyword removes the paper.
  function rank() {
    var ss = seeds();
    var kws = profile.keywords.map(function (k) { return k.toLowerCase(); });
    var negs = profile.negative_keywords.map(function (k) { return k.toLowerCase(); });
    var aus = profile.authors.map(normName);
    var shown = [], removed = [];
    if (!ss.length && !kws.length && !aus.length && !profile.tags.length) return { shown: shown, removed: removed, empty: true };
    order.forEach(function (id) {
      if (has("hidden", id) || has("liked", id)) return;
      var p = papers[id], tx = text(p);
      for (var n = 0; n < negs.length; n++) {
        if (wordAt(tx, negs[n], false)) {
          removed.push({ p: p, why: ["removed by negative keyword " + profile.negative_keywords[n]] });
          return;
        }
      }
      var score = 0, why = [];
      var pv = ss.length ? vector(p.v) : null;
      if (pv) {
        var best = null, bs = -2;
        ss.forEach(function (s) { var c = dot(pv, s.vec); if (c > bs) { bs = c; best = s; } });
        score += W.similarity * Math.max(0, bs);
        why.push("close to your paper " + best.t);
      }
      // every match is explained; each kind adds at most max_* boosts (as the server's ranking)
      var nk = 0, na = 0, nt = 0;
      kws.forEach(function (k, i) { if (wordAt(tx, k, false)) { nk++; why.push("keyword " + profile.keywords[i]); } });
      var names = (p.a || []).map(normName);
      aus.forEach(function (a, i) {
        if (names.some(function (nm) { return wordAt(nm, a, true); })) { na++; why.push("author " + profile.authors[i]); }
      });
      profile.tags.forEach(function (t) { if ((p.g || []).indexOf(t) >= 0) { nt++; why.push("tag " + t); } });
      score += W.keyword * Math.min(nk, W.max_keywords) + W.author * Math.min(na, W.max_authors) +
        W.tag * Math.min(nt, W.max_tags);
      if (score >= W.min_score - 1e-9) shown.push({ p: p, score: score, why: why });
    });
    shown.sort(function (a, b) {
      return (Math.round(b.score * 1e6) - Math.round(a.score * 1e6)) || ((b.p.u || 0) - (a.p.u || 0)) || (a.p.id < b.p.id ? -1 : a.p.id > b.p.id ? 1 : 0);
    });
    return { shown: shown.slice(0, W.max_papers), removed: removed, empty: false };
  }

  function paperLink(p, text) {
    var a = el("a", null, text);
    a.href = root + "p/" + encodeURIComponent(p.s) + ".html";
    return a;
  }
  function card(r) {
    var p = r.p;
    var c = el("article", "card fy-card");
    c.setAttribute("data-id", p.id);
    c.setAttribute("data-score", r.score.toFixed(4));
    var head = el("div", "card-head");
    head.appendChild(el("span", "emoji", p.e || "📄"));
    head.appendChild(el("span", "fy-score", "score " + r.score.toFixed(2)));
    head.appendChild(el("span", "up", "▲ " + (p.u || 0)));
    c.appendChild(head);
    var h = el("h2", "ctitle");
    h.appendChild(paperLink(p, p.rt || p.t));
    c.appendChild(h);
    if (p.rt) c.appendChild(el("div", "otitle", p.t));
    var body = p.r || p.x || "";
    c.appendChild(el("p", "review", body.length > 400 ? body.slice(0, 400) + "…" : body));
    var au = p.a || [];
    c.appendChild(el("p", "authors", au.slice(0, 8).join(", ") + (au.length > 8 ? " et al. (" + au.length + ")" : "")));
    if (p.g && p.g.length) c.appendChild(el("p", "sub", p.g.map(function (t) { return "#" + t; }).join(" ")));
    var ul = el("ul", "fy-why");
    r.why.forEach(function (w) { ul.appendChild(el("li", null, w)); });
    c.appendChild(ul);
    c.appendChild(el("p", "meta", "listed " + p.day));
    c.appendChild(actions(p.id, function () { return p.t; }));
    return c;
  }

  function chips(form) {
    var list = form.getAttribute("data-list"), ul = form.querySelector(".fy-chips");
    ul.textContent = "";
    profile[list].forEach(function (v, i) {
      var li = el("li", "fy-chip", v);
      li.appendChild(button("fy-remove", "×", function () { profile[list].splice(i, 1); saveProfile(); }));
      li.lastChild.setAttribute("aria-label", "remove " + v);
      ul.appendChild(li);
    });
  }
  function plist(ul, list, empty) {
    ul.textContent = "";
    profile[list].forEach(function (id) {
      var p = papers[id], s = profile.seeds[id] || {};
      var li = el("li");
      li.setAttribute("data-id", id);
      var title = (p && p.t) || s.t || id;
      li.appendChild(p ? paperLink(p, title) : el("span", null, title));
      if (list === "liked" && !(p && p.v) && !(s.v && s.m === meta.model)) {
        li.appendChild(el("span", "sub", " (no vector: outside the published days)"));
      }
      li.appendChild(button("fy-remove", list === "liked" ? "unlike" : "unhide", function () { toggle(list, id); }));
      ul.appendChild(li);
    });
    if (!profile[list].length) ul.appendChild(el("li", "sub", empty));
  }

  var results = document.getElementById("fy-results");
  var forms = Array.prototype.slice.call(document.querySelectorAll("form.fy-rule"));
  var nameIn = document.getElementById("fy-name");
  function render() {
    // Liked papers in the data lend their vector to the profile (exported with it).
    profile.liked.forEach(function (id) {
      var p = papers[id];
      if (p && p.v && meta.model) profile.seeds[id] = { t: p.t, v: p.v, m: meta.model };
    });
    try { localStorage.setItem(KEY, JSON.stringify(profile)); } catch (e) { /* ignore */ }
    forms.forEach(chips);
    plist(document.getElementById("fy-liked"), "liked", "Nothing liked yet: press ♡ like on a paper.");
    plist(document.getElementById("fy-hidden"), "hidden", "Nothing hidden.");
    document.getElementById("fy-liked-n").textContent = profile.liked.length;
    document.getElementById("fy-hidden-n").textContent = profile.hidden.length;
    if (document.activeElement !== nameIn) nameIn.value = profile.name;
    var r = rank();
    results.textContent = "";
    if (r.empty) results.appendChild(el("p", "sub", "Like papers (here or on the day pages) or add a keyword, an author or a tag: matching papers of the last " + meta.days.length + " days appear here."));
    else if (!r.shown.length) results.appendChild(el("p", "sub", "No paper of the last " + meta.days.length + " days reaches the threshold (" + W.min_score + ")."));
    r.shown.forEach(function (x) { results.appendChild(card(x)); });
    var rm = document.getElementById("fy-removed");
    rm.textContent = "";
    r.removed.forEach(function (x) {
      var li = el("li");
      li.setAttribute("data-id", x.p.id);
      li.appendChild(paperLink(x.p, x.p.t));
      li.appendChild(el("span", "fy-why-inline", " — " + x.why.join("; ")));
      rm.appendChild(li);
    });
    document.getElementById("fy-removed-box").hidden = !r.removed.length;
  }

  forms.forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var input = form.querySelector("input"), v = input.value.trim(), list = form.getAttribute("data-list");
      if (v && profile[list].indexOf(v) < 0) { profile[list].push(v); saveProfile(); }
      input.value = "";
    });
  });
  nameIn.addEventListener("change", function () { profile.name = nameIn.value.trim().slice(0, 60) || "for-you"; saveProfile(); });

  document.getElementById("fy-export").addEventListener("click", function () {
    var out = { papersift_profile: 1, name: profile.name };
    LISTS.forEach(function (k) { out[k] = profile[k].slice(); });
    out.seeds = profile.seeds;
    var blob = new Blob([JSON.stringify(out, null, 2) + "\n"], { type: "application/json" });
    var a = el("a");
    a.href = URL.createObjectURL(blob);
    a.download = (profile.name || "for-you").replace(/[^A-Za-z0-9._-]+/g, "-") + ".papersift-profile.json";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
    message.textContent = "Exported: add it to papersift with papersift profile add --from " + a.download;
  });
  var importIn = document.getElementById("fy-import");
  importIn.addEventListener("change", function () {
    var f = importIn.files && importIn.files[0];
    if (!f) return;
    var rd = new FileReader();
    rd.onload = function () {
      try {
        var obj;
        try { obj = JSON.parse(String(rd.result)); } catch (e) { throw new Error(f.name + ": not JSON (" + e.message + ")"); }
        profile = validate(obj, f.name);
        saveProfile();
        message.textContent = "Imported " + f.name + ": " + profile.liked.length + " liked, " + profile.hidden.length + " hidden, " +
          (profile.keywords.length + profile.authors.length + profile.tags.length + profile.negative_keywords.length) + " rules.";
      } catch (e) { message.textContent = "Import failed: " + e.message; }
      importIn.value = "";
    };
    rd.onerror = function () { message.textContent = "Import failed: " + f.name + " could not be read."; };
    rd.readAsText(f);
  });
  document.getElementById("fy-clear").addEventListener("click", function () {
    if (!window.confirm("Forget every like, hide and rule kept in this browser?")) return;
    profile = blank();
    saveProfile();
  });

  // ---- load the days' data, newest first ----
  var days = meta.days.slice().reverse();
  var pending = days.length, failed = 0, bytes = 0, withVec = 0;
  window.PAPERSIFT_FORYOU_DAY = function (day, list) { if (Array.isArray(list)) loaded[day] = list; };
  function ready() {
    days.forEach(function (d) {
      (loaded[d[0]] || []).forEach(function (p) {
        if (!p || typeof p.id !== "string" || papers[p.id]) return;
        p.day = d[0];
        papers[p.id] = p;
        order.push(p.id);
        if (p.v) withVec++;
      });
      bytes += d[2] || 0;
    });
    var tags = {};
    order.forEach(function (id) { (papers[id].g || []).forEach(function (t) { tags[t] = 1; }); });
    var dl = document.getElementById("fy-tag-list");
    Object.keys(tags).sort().forEach(function (t) { var o = el("option"); o.value = t; dl.appendChild(o); });
    status.textContent = order.length + " papers of the last " + days.length + " days" +
      (meta.model ? ", " + withVec + " with " + meta.model.split("@")[0] + " vectors (" + meta.quant + ", " + meta.bytes_per_paper + " bytes a paper)" : ", no vectors (rules only)") +
      "; " + (bytes / 1048576).toFixed(1) + " MB of data" + (failed ? "; " + failed + " day files failed to load" : "") + ".";
    status.setAttribute("data-ready", "1");
    listeners.push(render);
    render();
  }
  if (!pending) ready();
  days.forEach(function (d) {
    var s = document.createElement("script");
    s.src = root + "foryou/d/" + encodeURIComponent(d[0]) + ".js" + (served ? "?v=" + encodeURIComponent(d[1]) : "");
    s.onload = s.onerror = function (ev) {
      if (ev.type === "error") failed++;
      if (--pending === 0) ready();
    };
    document.head.appendChild(s);
  });
})();
