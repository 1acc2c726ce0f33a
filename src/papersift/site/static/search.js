// The search page. Served by `papersift serve`, it asks the API (hybrid search, feeds to
// follow); anywhere else (a static host, file://) it searches the index `papersift build`
// wrote under search/ (site/search_index.py), loading only the shards a query needs with
// classic <script> tags, the one loader Chromium allows on file://.
// Every piece of text reaches the page through textContent, never innerHTML.
(function () {
  "use strict";
  var root = document.body.getAttribute("data-root") || "";
  var LIMIT = 10;
  var WORD = /[\p{L}\p{N}]+/gu;

  var el = window.PS_DOM.el;  // static/dom.js
  function fold(s) { return s.toLowerCase().normalize("NFKD").replace(/\p{M}+/gu, ""); }

  // ---- the static index: scripts hand their data to PS_SEARCH ----
  var loaded = {}, pending = {}, manifest = null;
  var PS = window.PS_SEARCH = {
    m: function (data) { manifest = data; },
    t: function (seg, shard, data) { loaded[seg + "/t/" + shard] = data; },
    d: function (seg, chunk, recs) { loaded[seg + "/d/" + chunk] = recs; },
    last: null
  };
  function load(key, src) {
    if (loaded[key] !== undefined) return Promise.resolve(loaded[key]);
    if (pending[key]) return pending[key];
    pending[key] = new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src;
      s.onload = function () { s.remove(); delete pending[key]; resolve(loaded[key]); };
      s.onerror = function () { s.remove(); delete pending[key]; reject(new Error("cannot load " + src)); };
      document.head.appendChild(s);
    });
    return pending[key];
  }
  function loadManifest() {
    // Re-read on every page load: the build rewrites it, the segments it names never change.
    return load("manifest", root + "search/index.js?" + Date.now()).then(function () {
      if (!manifest || manifest.v !== 1) throw new Error("the search index is missing or from another version; run papersift build");
      return manifest;
    });
  }
  function fnv1a(s) {
    var bytes = new TextEncoder().encode(s), h = 0x811c9dc5;
    for (var i = 0; i < bytes.length; i++) { h ^= bytes[i]; h = Math.imul(h, 0x01000193) >>> 0; }
    return h >>> 0;
  }
  var A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", VAL = {};
  for (var ai = 0; ai < A.length; ai++) VAL[A.charCodeAt(ai)] = ai;
  // postings: per document a varint gap (5 bits a character, 32 = "more follows"), then an impact
  function eachPosting(post, fn) {
    var doc = 0, i = 0, L = post.length;
    while (i < L) {
      var g = 0, v;
      while ((v = VAL[post.charCodeAt(i++)]) & 32) g = g * 32 + (v & 31);
      doc += g * 32 + v;
      fn(doc, VAL[post.charCodeAt(i++)]);
    }
  }
  function queryTerms(q, stop) {
    var out = [], seen = {};
    (fold(q).match(WORD) || []).forEach(function (w) {
      if (stop[w]) return;
      var s = window.PS_STEM(w);
      if (!seen[s]) { seen[s] = 1; out.push(s); }
    });
    return out;
  }
  function termEntries(m, term) { // per segment: [df, postings] or null
    return Promise.all(m.segments.map(function (seg) {
      var shard = fnv1a(term) % seg.shards;
      return load(seg.id + "/t/" + shard, root + "search/" + seg.id + "/t/" + shard + ".js")
        .then(function (data) { return (data && data[term]) || null; });
    }));
  }
  function dayNum(iso) { var t = Date.parse(iso + "T00:00:00Z"); return isNaN(t) ? null : Math.floor(t / 86400000); }

  function staticSearch(p) {
    return loadManifest().then(function (m) {
      var stop = {};
      m.stopwords.forEach(function (w) { stop[w] = 1; });
      var terms = queryTerms(p.q, stop);
      var tags = p.tags.filter(function (t) { return m.tags[t]; });
      var offsets = [], total = 0;
      m.segments.forEach(function (s) { offsets.push(total); total += s.n; });
      return Promise.all(terms.concat(tags.map(function (t) { return "#" + t; })).map(function (t) { return termEntries(m, t); }))
        .then(function (entries) {
          var live = new Uint8Array(total);
          // dates: base documents are numbered by day (runs of [first doc, day]); the delta lists each day
          var lo = p.from ? dayNum(p.from) : null, hi = p.to ? dayNum(p.to) : null;
          m.segments.forEach(function (s, si) {
            for (var k = 0; k < s.n; k++) live[offsets[si] + k] = 1;
            if (lo === null && hi === null) return;
            if (s.days) {
              s.days.forEach(function (run, r) {
                var end = r + 1 < s.days.length ? s.days[r + 1][0] : s.n;
                if ((lo !== null && run[1] < lo) || (hi !== null && run[1] > hi)) for (var k = run[0]; k < end; k++) live[offsets[si] + k] = 0;
              });
            } else {
              s.day.forEach(function (d, k) { if ((lo !== null && d < lo) || (hi !== null && d > hi)) live[offsets[si] + k] = 0; });
            }
          });
          m.dead.forEach(function (k) { live[k] = 0; }); // dead documents are the base's
          var nLive = 0;
          for (var k = 0; k < total; k++) nLive += live[k];
          var nAll = total - m.dead.length;
          if (tags.length) {
            var hits = new Uint8Array(total);
            entries.slice(terms.length).forEach(function (perSeg) {
              perSeg.forEach(function (e, si) {
                if (e) eachPosting(e[1], function (doc) { hits[offsets[si] + doc]++; });
              });
            });
            var need = p.mode === "and" ? tags.length : 1;
            for (k = 0; k < total; k++) if (hits[k] < need) live[k] = 0;
          }
          var dead = new Uint8Array(total);
          m.dead.forEach(function (k) { dead[k] = 1; });
          var score = new Float32Array(total), any = false;
          entries.slice(0, terms.length).forEach(function (perSeg) {
            // df over the papers the index still holds: a changed paper's old base
            // document is dead, its new one in the delta
            var n = 0, df = 0;
            perSeg.forEach(function (e) { if (e && e[1]) n += e[0]; });
            if (!n) return;
            var docs = new Int32Array(n), imps = new Uint8Array(n), j = 0;
            perSeg.forEach(function (e, si) {
              if (!e || !e[1]) return;
              var off = offsets[si];
              eachPosting(e[1], function (doc, imp) { docs[j] = off + doc; imps[j++] = imp; if (!dead[off + doc]) df++; });
            });
            if (!df) return;
            any = true;
            var idf = Math.max(Math.log((nAll - df + 0.5) / (df + 0.5)), 1e-6);
            for (var x = 0; x < j; x++) score[docs[x]] += idf * imps[x];
          });
          // The page's documents by a bounded selection (a full sort of 60k matches is most
          // of a query's time): best first; ties: the newer paper (higher number).
          var want = p.offset + LIMIT, best = [], count = 0;
          function better(a, b) { return score[a] > score[b] || (score[a] === score[b] && a > b); }
          if (terms.length) {
            for (k = 0; k < total; k++) {
              if (!live[k] || !(score[k] > 0)) continue;
              count++;
              if (best.length === want && !better(k, best[want - 1])) continue;
              var at = best.length < want ? best.length : want - 1;
              while (at > 0 && better(k, best[at - 1])) { best[at] = best[at - 1]; at--; }
              best[at] = k;
            }
          } else {
            for (k = total - 1; k >= 0; k--) if (live[k]) { count++; if (best.length < want) best.push(k); }
          }
          var page = best.slice(p.offset, p.offset + LIMIT);
          return Promise.all(page.map(function (k) {
            var si = 0;
            while (si + 1 < offsets.length && k >= offsets[si + 1]) si++;
            var local = k - offsets[si], chunk = Math.floor(local / m.chunk), seg = m.segments[si];
            return load(seg.id + "/d/" + chunk, root + "search/" + seg.id + "/d/" + chunk + ".js")
              .then(function (recs) { return recs[local % m.chunk]; });
          })).then(function (recs) {
            return { total: count, engine: terms.length ? "static" : "browse", terms: terms,
                     matchedAny: any || !terms.length, results: recs, filtered: nLive };
          });
        });
    });
  }

  // ---- highlighting: a word is lit when its stem is one the query searched ----
  function appendMarked(parent, text, stems) {
    var last = 0, mm;
    WORD.lastIndex = 0;
    while ((mm = WORD.exec(text)) !== null) {
      if (stems[window.PS_STEM(fold(mm[0]))]) {
        if (mm.index > last) parent.appendChild(document.createTextNode(text.slice(last, mm.index)));
        parent.appendChild(el("mark", null, mm[0]));
        last = mm.index + mm[0].length;
      }
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }
  function snippet(text, stems) { // ~40 words around the first match
    var words = [], mm;
    WORD.lastIndex = 0;
    while ((mm = WORD.exec(text)) !== null) words.push(mm);
    if (words.length <= 45) return text;
    var first = 0;
    for (var i = 0; i < words.length; i++) if (stems[window.PS_STEM(fold(words[i][0]))]) { first = i; break; }
    var a = Math.max(0, first - 10), b = Math.min(words.length - 1, a + 40);
    var s = text.slice(a ? words[a].index : 0, b < words.length - 1 ? words[b].index + words[b][0].length : text.length);
    return (a ? "… " : "") + s + (b < words.length - 1 ? " …" : "");
  }
  function appendSegments(parent, segments, fallback) {
    if (!segments || !segments.length) { parent.appendChild(document.createTextNode(fallback || "")); return; }
    segments.forEach(function (s) {
      parent.appendChild(s.type === "highlight" ? el("mark", null, s.text) : document.createTextNode(s.text));
    });
  }

  // One card for a result, from either source: {slug, emoji, title(node filler), sub, snippet filler, tags}
  function card(r) {
    var li = el("li", "card result");
    li.setAttribute("data-slug", r.slug);
    var h = el("h3", "ctitle");
    h.appendChild(el("span", "emoji", r.emoji || "📄"));
    h.appendChild(document.createTextNode(" "));
    var a = el("a");
    a.href = root + "p/" + encodeURIComponent(r.slug) + ".html";
    r.fillTitle(a);
    h.appendChild(a);
    li.appendChild(h);
    if (r.catchy) li.appendChild(el("div", "otitle", r.catchy));
    li.appendChild(el("div", "meta", [r.day, "▲ " + (r.upvotes || 0), r.authors].filter(Boolean).join(" · ")));
    var sn = el("p", "snippet");
    r.fillSnippet(sn);
    li.appendChild(sn);
    if (r.tags && r.tags.length) {
      var tg = el("div", "tags");
      r.tags.forEach(function (t) {
        var ta = el("a", "tag", "#" + t);
        ta.href = root + "t/" + encodeURIComponent(t) + ".html";
        tg.appendChild(ta);
      });
      li.appendChild(tg);
    }
    return li;
  }
  function staticCard(rec, stems) { // [slug, title, authors, day, tags, emoji, catchy, abstract, review, upvotes]
    var body = rec[7] || rec[8] || "";
    return card({ slug: rec[0], emoji: rec[5], day: rec[3], upvotes: rec[9], authors: rec[2], tags: rec[4], catchy: rec[6],
                  fillTitle: function (a) { appendMarked(a, rec[1], stems); },
                  fillSnippet: function (p) { appendMarked(p, snippet(body, stems), stems); } });
  }
  function apiCard(it) {
    return card({ slug: it.slug, emoji: it.emoji, day: it.day, upvotes: it.upvotes, tags: it.tags,
                  catchy: it.catchy_title && it.catchy_title !== it.title ? it.catchy_title : "",
                  fillTitle: function (a) { appendSegments(a, it.title_hl, it.title); },
                  fillSnippet: function (p) { appendSegments(p, it.snippet_hl, it.snippet); } });
  }

  // ---- the page ----
  var form = document.getElementById("search-page-form");
  var results = document.getElementById("results");
  var status = document.getElementById("search-status");
  var follow = document.getElementById("follow");
  if (!form || !results) return;
  var tagSel = form.querySelector("select[name=tag]");
  var modeP = "or";
  var apiMode = null; // decided once: is the papersift API next to these pages?
  var served = location.protocol === "http:" || location.protocol === "https:";
  var runId = 0;

  function detectApi() {
    if (apiMode !== null) return Promise.resolve(apiMode);
    if (!served) { apiMode = false; return Promise.resolve(false); }
    return fetch(root + "api/tags", { headers: { Accept: "application/json" } }).then(function (r) {
      var ct = r.headers.get("content-type") || "";
      return r.ok && ct.indexOf("json") >= 0 ? r.json().then(function (tags) { fillTags(tags); return true; }) : false;
    }).catch(function () { return false; }).then(function (ok) { apiMode = ok; return ok; });
  }
  function fillTags(tags) {
    if (!tagSel || tagSel.options.length > 1) return;
    Object.keys(tags).sort().forEach(function (t) {
      var o = el("option", null, "#" + t + " — " + tags[t]);
      o.value = t;
      tagSel.appendChild(o);
    });
    var want = params().tags[0];
    if (want) tagSel.value = want;
  }
  function params() {
    var u = new URLSearchParams(location.search);
    return { q: (u.get("q") || "").trim(), tags: (u.get("tags") || "").split(",").map(function (t) { return t.trim(); }).filter(Boolean),
             mode: u.get("mode") === "and" ? "and" : "or", from: u.get("from") || "", to: u.get("to") || "", offset: 0 };
  }
  function fromForm() {
    var f = new FormData(form), tag = (f.get("tag") || "").toString();
    var p = { q: (f.get("q") || "").toString().trim(), tags: tag ? [tag] : [], mode: modeP,
              from: (f.get("from") || "").toString(), to: (f.get("to") || "").toString(), offset: 0 };
    var keep = params();
    if (!tag && keep.tags.length > 1) { p.tags = keep.tags; p.mode = keep.mode; } // several tags from a link stay
    return p;
  }
  function query(p) {
    var u = new URLSearchParams();
    if (p.q) u.set("q", p.q);
    if (p.tags.length) { u.set("tags", p.tags.join(",")); if (p.tags.length > 1) u.set("mode", p.mode); }
    if (p.from) u.set("from", p.from);
    if (p.to) u.set("to", p.to);
    return u;
  }
  function show(p) {
    form.querySelector("input[name=q]").value = p.q;
    form.querySelector("input[name=from]").value = p.from;
    form.querySelector("input[name=to]").value = p.to;
    if (tagSel) tagSel.value = p.tags.length === 1 ? p.tags[0] : "";
    var header = document.querySelector("#search-form input[name=q]");
    if (header) header.value = p.q;
  }
  function run(p) {
    var id = ++runId, t0 = performance.now();
    results.textContent = "";
    if (follow) follow.hidden = true;
    if (!p.q && !p.tags.length && !p.from && !p.to) { status.textContent = "Type a query in the search box."; done(id, t0, p, 0); return Promise.resolve(); }
    status.textContent = "Searching…";
    return detectApi().then(function (api) {
      return api ? apiSearch(p, id, t0) : staticSearch(p).then(function (res) {
        if (id !== runId) return;
        var stems = {};
        res.terms.forEach(function (s) { stems[s] = 1; });
        res.results.forEach(function (rec) { results.appendChild(staticCard(rec, stems)); });
        status.textContent = res.total + " results" + (p.q ? " for “" + p.q + "”" : "") + " (search index of this site)";
        done(id, t0, p, res.total);
      });
    }).catch(function (e) { if (id === runId) { status.textContent = "Search failed: " + e.message; done(id, t0, p, -1); } });
  }
  function apiSearch(p, id, t0) {
    var u = query(p);
    if (!p.q) u.set("q", "*"); // filters only: the API wants a query; "*" browses (see below)
    u.set("limit", String(LIMIT));
    if (p.tags.length > 1) u.set("tag_mode", p.mode);
    u.delete("mode");
    return fetch(root + "api/search?" + u.toString())
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (res) {
        if (id !== runId) return;
        res.results.forEach(function (it) { results.appendChild(apiCard(it)); });
        status.textContent = res.total + " results" + (p.q ? " for “" + p.q + "”" : "") + " (" + res.engine + ")";
        showFollow(p);
        done(id, t0, p, res.total);
      });
  }
  function showFollow(p) {
    if (!follow) return;
    var u = query(p);
    if (p.tags.length > 1) { u.set("tag_mode", p.mode); u.delete("mode"); }
    ["atom", "rss", "json"].forEach(function (fmt) {
      var a = follow.querySelector("a[data-format=" + fmt + "]");
      if (!a) return;
      u.set("format", fmt);
      a.href = root + "api/feed?" + u.toString();
    });
    follow.hidden = false;
  }
  function done(id, t0, p, total) {
    PS.last = { id: id, ms: performance.now() - t0, q: p.q, total: total, api: !!apiMode };
    results.setAttribute("data-done", String(id));
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var p = fromForm();
    var qs = query(p).toString();
    try { history.replaceState(null, "", location.pathname + (qs ? "?" + qs : "")); } catch (e) { /* file:// in some browsers */ }
    show(p);
    run(p);
  });
  var modeBtn = document.getElementById("search-mode");
  if (modeBtn) modeBtn.hidden = true;
  var start = params();
  modeP = start.mode;
  var prep = served ? detectApi() : Promise.resolve(false);
  prep.then(function (api) {
    if (!api) return loadManifest().then(function (m) { fillTags(m.tags); }).catch(function () { /* run() says why */ });
  }).then(function () { show(start); run(start); });
})();
