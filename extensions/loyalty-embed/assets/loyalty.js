/* Built from widgets/loyalty.js by `make extension-assets`: edit that file, then run it. */
/* Loyalty launcher: the only script on every page. A fixed button in a shadow root (no layout
   shift, theme styles cannot reach it); the panel and the cart widget load only when needed.
   Config: window.LoyaltyConfig or data-* attributes on this script tag:
   api (backend origin) or proxy (Shopify app proxy path), shop (widget key), token (signed
   customer token), locale, colour, position, launcherText, platform, cartSelector (where the cart
   widget goes in the theme's cart), joinUrl (where a guest creates an account). No cookies are used. */
(function () {
  "use strict";
  if (window.LoyaltyLauncher) return;
  var me = document.currentScript;
  var cfg = window.LoyaltyConfig || {};
  if (me) {
    ["api", "proxy", "shop", "token", "locale", "colour", "position", "launcherText", "platform", "cartSelector", "joinUrl"].forEach(function (k) {
      if (me.dataset[k] && cfg[k] == null) cfg[k] = me.dataset[k];
    });
  }
  var assets = cfg.assets || (me && me.src ? me.src.replace(/[^/]*$/, "") : "/widgets/");
  /* The launcher's label, "loading" and "error" per language, from the catalogue (written here
     when the file is served); every other text comes with the panel's data. */
  var TEXTS = {"en":{"launcher":"Rewards","title":"Rewards","loading":"Loading…","error":"Something went wrong. Please try again."},"it":{"launcher":"Premi","title":"Premi","loading":"Caricamento…","error":"Qualcosa è andato storto. Riprova."},"de":{"launcher":"Prämien","title":"Prämien","loading":"Wird geladen…","error":"Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut."},"fr":{"launcher":"Récompenses","title":"Récompenses","loading":"Chargement…","error":"Une erreur s'est produite. Veuillez réessayer."},"es":{"launcher":"Recompensas","title":"Recompensas","loading":"Cargando…","error":"Algo salió mal. Inténtalo de nuevo."}};
  var lang = String(cfg.locale || document.documentElement.lang || "en").slice(0, 2).toLowerCase();
  var label = cfg.launcherText || (TEXTS[lang] || TEXTS.en || {}).launcher || "\u2605";
  var side = cfg.position === "left" ? "left" : "right";
  var host = document.createElement("div");
  host.setAttribute("data-loyalty", "launcher");
  host.style.cssText = "position:fixed;bottom:20px;" + side + ":20px;z-index:2147483000";
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML = "<style>button{font:600 15px/1 system-ui,sans-serif;border:0;border-radius:24px;" +
    "padding:12px 18px;background:" + (/^#[0-9a-f]{6}$/i.test(cfg.colour || "") ? cfg.colour : "#1f6feb") +
    ";color:#fff;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.25)}button:focus-visible{outline:3px solid #111;" +
    "outline-offset:2px}</style><button type='button' aria-haspopup='dialog' aria-expanded='false'>" +
    "<span aria-hidden='true'>\u2605 </span><span></span></button>";
  var button = root.querySelector("button");
  button.lastChild.textContent = label;
  var loading = null;
  function panel() {
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = assets + /*@versioned*/"panel.js";  // the server writes the versioned name here
        s.async = true;
        s.onload = function () { resolve(window.LoyaltyPanel); };
        s.onerror = reject;
        document.head.appendChild(s);
      });
    }
    return loading;
  }
  button.addEventListener("click", function () {
    panel().then(function (p) { p.toggle(cfg, root, button); });
  });
  var ref = /[?&]ref=([A-Za-z0-9-]{4,20})/.exec(location.search);
  var landed = null;
  try { landed = JSON.parse(localStorage.getItem("loyalty:landing") || "null"); } catch (e) { landed = null; }
  function cartHere() {  // the cart widget (and so the panel script) only where the page has a cart
    try { return document.querySelector("[data-loyalty-cart]" + (cfg.cartSelector ? "," + cfg.cartSelector : "")); } catch (e) { return null; }
  }
  function cart() { panel().then(function (p) { p.cart(cfg); }); }
  function mount() {
    document.body.appendChild(host);
    if (cartHere()) cart();
    else if (cfg.cartSelector) {  // a cart that renders later (a drawer, the WooCommerce blocks)
      var watch = new MutationObserver(function () { if (cartHere()) { watch.disconnect(); cart(); } });
      watch.observe(document.body, { childList: true, subtree: true });
    }
    if (ref || (landed && (cfg.token || cfg.proxy))) panel().then(function (p) { p.referral(cfg, ref && ref[1]); });
  }
  window.LoyaltyLauncher = { open: function () { button.click(); }, config: cfg, texts: TEXTS };
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
