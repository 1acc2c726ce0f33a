// The DOM helper the page scripts (app.js, foryou.js, search.js) share; base.html loads it
// in <head>, before them. Text goes into the page through textContent, never innerHTML.
(function () {
  "use strict";
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  window.PS_DOM = { el: el };
})();
