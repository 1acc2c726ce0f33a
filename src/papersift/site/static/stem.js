// The Porter stemmer as PyStemmer's "porter" (Snowball) applies it when the site's index is
// built (site/search_index.py): a query word must reduce to the stem its papers' words did.
(function () {
  "use strict";
  function cons(w, i) {
    var c = w.charAt(i);
    if (c === "a" || c === "e" || c === "i" || c === "o" || c === "u") return false;
    if (c === "y") return i === 0 ? true : !cons(w, i - 1);
    return true;
  }
  function measure(s) { // m in [C](VC)^m[V]
    var n = 0, i = 0, L = s.length;
    while (i < L && cons(s, i)) i++;
    while (i < L) {
      while (i < L && !cons(s, i)) i++;
      if (i >= L) break;
      while (i < L && cons(s, i)) i++;
      n++;
    }
    return n;
  }
  function hasVowel(s) { for (var i = 0; i < s.length; i++) if (!cons(s, i)) return true; return false; }
  function doubleC(s) { var L = s.length; return L >= 2 && s.charAt(L - 1) === s.charAt(L - 2) && cons(s, L - 1); }
  function cvc(s) {
    var L = s.length;
    if (L < 3 || !cons(s, L - 1) || cons(s, L - 2) || !cons(s, L - 3)) return false;
    var c = s.charAt(L - 1);
    return c !== "w" && c !== "x" && c !== "y";
  }
  function ends(w, suf) { return w.length >= suf.length && w.slice(w.length - suf.length) === suf; }
  // Longest suffix of the list that w ends with; its rule applies only when the stem's
  // measure passes, and no shorter suffix is tried.
  function rule(w, list, test) {
    var best = null;
    for (var i = 0; i < list.length; i++) {
      if (ends(w, list[i][0]) && (best === null || list[i][0].length > best[0].length)) best = list[i];
    }
    if (best === null) return w;
    var stem = w.slice(0, w.length - best[0].length);
    return test(stem, best[0]) ? stem + best[1] : w;
  }
  var S2 = [["ational", "ate"], ["tional", "tion"], ["enci", "ence"], ["anci", "ance"], ["izer", "ize"],
    ["abli", "able"], ["alli", "al"], ["entli", "ent"], ["eli", "e"], ["ousli", "ous"], ["ization", "ize"],
    ["ation", "ate"], ["ator", "ate"], ["alism", "al"], ["iveness", "ive"], ["fulness", "ful"],
    ["ousness", "ous"], ["aliti", "al"], ["iviti", "ive"], ["biliti", "ble"]];
  var S3 = [["icate", "ic"], ["ative", ""], ["alize", "al"], ["iciti", "ic"], ["ical", "ic"], ["ful", ""], ["ness", ""]];
  var S4 = ["al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "ou",
    "ism", "ate", "iti", "ous", "ive", "ize"].map(function (s) { return [s, ""]; });
  function m0(stem) { return measure(stem) > 0; }

  function stem(w) {
    // step 1a
    if (ends(w, "sses")) w = w.slice(0, -2);
    else if (ends(w, "ies")) w = w.slice(0, -2);
    else if (!ends(w, "ss") && ends(w, "s")) w = w.slice(0, -1);
    // step 1b
    var again = false;
    if (ends(w, "eed")) { if (measure(w.slice(0, -3)) > 0) w = w.slice(0, -1); }
    else if (ends(w, "ed") && hasVowel(w.slice(0, -2))) { w = w.slice(0, -2); again = true; }
    else if (ends(w, "ing") && hasVowel(w.slice(0, -3))) { w = w.slice(0, -3); again = true; }
    if (again) {
      if (ends(w, "at") || ends(w, "bl") || ends(w, "iz")) w += "e";
      else if (doubleC(w) && /[bdfgmnprt]$/.test(w)) w = w.slice(0, -1);
      else if (measure(w) === 1 && cvc(w)) w += "e";
    }
    // step 1c
    if (ends(w, "y") && hasVowel(w.slice(0, -1))) w = w.slice(0, -1) + "i";
    w = rule(w, S2, m0);
    w = rule(w, S3, m0);
    w = rule(w, S4, function (st, suf) {
      if (measure(st) <= 1) return false;
      return suf !== "ion" || /[st]$/.test(st);
    });
    // step 5a
    if (ends(w, "e")) {
      var st = w.slice(0, -1), m = measure(st);
      if (m > 1 || (m === 1 && !cvc(st))) w = st;
    }
    // step 5b
    if (measure(w) > 1 && doubleC(w) && ends(w, "l")) w = w.slice(0, -1);
    return w;
  }
  window.PS_STEM = stem;
})();
