// Hovering or focusing a claim lights its source sentence (and keeps it in view when focused).
(function () {
  "use strict";
  function source(claim) {
    var id = claim.getAttribute("data-src");
    return id ? document.getElementById(id) : null;
  }
  function light(claim, on, scroll) {
    var s = source(claim);
    if (!s) return;
    s.classList.toggle("lit", on);
    if (on && scroll && s.scrollIntoView) s.scrollIntoView({ block: "nearest" });
  }
  var claims = document.querySelectorAll(".claim[data-src]");
  for (var i = 0; i < claims.length; i++) {
    (function (c) {
      c.addEventListener("mouseenter", function () { light(c, true, false); });
      c.addEventListener("mouseleave", function () { light(c, false, false); });
      c.addEventListener("focus", function () { light(c, true, true); });
      c.addEventListener("blur", function () { light(c, false, false); });
    })(claims[i]);
  }
})();
