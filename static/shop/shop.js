/* The storefront's only script, and nothing depends on it: pages work without it.
   - [data-shop-toggle="#id"] opens and closes a collapsed block (the phone menu, the filters).
   - [data-gallery-src] thumbnails show their photo in the product page's main image. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-shop-toggle]");
    if (toggle) {
      var target = document.querySelector(toggle.getAttribute("data-shop-toggle"));
      if (target) {
        var open = target.classList.toggle("show");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      }
      return;
    }
    var thumb = event.target.closest("[data-gallery-src]");
    if (thumb) {
      var main = document.getElementById("product-photo");
      if (!main) { return; }
      event.preventDefault();
      main.src = thumb.getAttribute("data-gallery-src");
      main.alt = thumb.getAttribute("data-gallery-alt") || main.alt;
      document.querySelectorAll("[data-gallery-src]").forEach(function (el) {
        el.setAttribute("aria-current", el === thumb ? "true" : "false");
      });
    }
  });
})();
/* Checkout: show the totals of the delivery option chosen. */
document.addEventListener("change", function (event) {
  "use strict";
  if (event.target.name !== "shipping_method") { return; }
  document.querySelectorAll("[data-shipping-code]").forEach(function (el) {
    el.hidden = el.getAttribute("data-shipping-code") !== event.target.value;
  });
});
/* Category filters: apply a ticked box at once. */
document.addEventListener("change", function (event) {
  "use strict";
  var form = event.target.form;
  if (form && form.id === "filter-form" && event.target.type === "checkbox") { form.submit(); }
});
