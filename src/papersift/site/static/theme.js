// Runs in <head> so the stored theme applies before the first paint (no flash).
(function () {
  try {
    var t = localStorage.getItem("ps-theme");
    if (t === "light" || t === "dark") document.documentElement.setAttribute("data-theme", t);
  } catch (e) { /* storage may be blocked on file:// */ }
})();
