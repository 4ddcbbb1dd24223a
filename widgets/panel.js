/* Loyalty panel and cart widget, loaded on demand by loyalty.js. No framework, no build step.
   Everything renders inside shadow roots, so the theme and the widget leave each other alone. */
(function () {
  "use strict";

  var TEXTS = {
    en: {
      title: "Rewards", close: "Close", join_title: "Join our rewards", join: "Create an account",
      join_text: "Earn points on every order and spend them on your next one.", ways: "Ways to earn",
      rewards: "Rewards", points: "points", pending: "pending", credit: "Store credit", tier: "Tier",
      to_next: "{n} more to {tier}", top_tier: "Top tier reached", activity: "Recent activity",
      expiring: "{n} points expire on {date}", refer: "Refer a friend", copy: "Copy link", copied: "Copied",
      share: "Share", can_afford: "You can use this", need: "{n} more points", order: "{n} points per {money}",
      order_one: "1 point per {money}",
      signup: "Create an account", birthday: "Birthday", review: "Write a review", newsletter: "Newsletter",
      social_follow: "Follow us", social_share: "Share on social", referral: "Refer a friend",
      cashback: "{n}% back as store credit", cart_earn: "This cart earns {points} points",
      cart_cashback: "and {money} cashback", apply: "Apply", remove: "Remove", applied: "Code {code} applied",
      sign_in: "Sign in to use your rewards", error: "Something went wrong. Please try again.", loading: "Loading…",
      bday_title: "Your birthday", bday_ask: "Tell us your birthday for {n} points on the day.", bday_save: "Save",
      bday_is: "Your birthday: {date}", bday_locked: "To correct it, contact the shop.", bday_saved: "Saved"
    },
    it: {
      title: "Premi", close: "Chiudi", join_title: "Unisciti al programma", join: "Crea un account",
      join_text: "Guadagna punti con ogni ordine e spendili sul prossimo.", ways: "Come guadagnare",
      rewards: "Premi", points: "punti", pending: "in attesa", credit: "Credito", tier: "Livello",
      to_next: "Ancora {n} per {tier}", top_tier: "Livello massimo raggiunto", activity: "Attività recenti",
      expiring: "{n} punti scadono il {date}", refer: "Invita un amico", copy: "Copia link", copied: "Copiato",
      share: "Condividi", can_afford: "Puoi usarlo", need: "Mancano {n} punti", order: "{n} punti ogni {money}",
      order_one: "1 punto ogni {money}",
      signup: "Crea un account", birthday: "Compleanno", review: "Scrivi una recensione", newsletter: "Newsletter",
      social_follow: "Seguici", social_share: "Condividi sui social", referral: "Invita un amico",
      cashback: "{n}% restituito come credito", cart_earn: "Questo carrello vale {points} punti",
      cart_cashback: "e {money} di cashback", apply: "Applica", remove: "Rimuovi", applied: "Codice {code} applicato",
      sign_in: "Accedi per usare i tuoi premi", error: "Qualcosa è andato storto. Riprova.", loading: "Caricamento…",
      bday_title: "Il tuo compleanno", bday_ask: "Dicci quando è il tuo compleanno: {n} punti nel giorno.", bday_save: "Salva",
      bday_is: "Il tuo compleanno: {date}", bday_locked: "Per correggerlo, contatta il negozio.", bday_saved: "Salvato"
    }
  };

  /* Scoped to .panel and .cart: the launcher's own button lives in the same shadow root. */
  var STYLE = ".panel,.cart{box-sizing:border-box;font-family:system-ui,sans-serif}.panel *,.cart *{box-sizing:border-box}" +
    ".panel{position:fixed;bottom:80px;right:20px;width:340px;max-width:calc(100vw - 40px);max-height:75vh;" +
    "overflow:auto;background:#fff;color:#1d1d1f;border-radius:14px;box-shadow:0 8px 32px rgba(0,0,0,.25);" +
    "padding:18px;font-size:14px;line-height:1.45}.left{left:20px;right:auto}.panel h2{font-size:18px;margin:0 0 10px}" +
    ".panel h3{font-size:14px;margin:14px 0 6px}.panel ul,.cart ul{list-style:none;margin:0;padding:0}.panel li,.cart li{padding:4px 0}" +
    ".big{font-size:28px;font-weight:700}.muted{color:#5f6368}.row{display:flex;justify-content:space-between;gap:8px;align-items:center}" +
    ".panel button,.panel a.btn,.cart button{font:600 14px system-ui,sans-serif;border:0;border-radius:8px;padding:8px 12px;" +
    "cursor:pointer;background:var(--c);color:#fff;text-decoration:none;display:inline-block}" +
    ".panel button.link{background:none;color:var(--c);padding:4px}.panel button:focus-visible,.panel a:focus-visible," +
    ".cart button:focus-visible{outline:3px solid #111;outline-offset:2px}.panel .close{position:absolute;top:10px;right:10px}" +
    ".bar{height:8px;background:#e8eaed;border-radius:4px;overflow:hidden}.bar i{display:block;height:100%;background:var(--c)}" +
    ".panel input{width:100%;padding:6px;border:1px solid #ccc;border-radius:6px;font-size:13px}" +
    ".cart{border:1px solid #e0e0e0;border-radius:10px;padding:12px;font-size:14px;background:#fff;color:#1d1d1f}";

  function lang(cfg, program) {
    var l = (cfg.locale || (program && program.locale) || document.documentElement.lang || "en").slice(0, 2);
    return TEXTS[l] ? l : "en";
  }

  function t(ctx, key, vars) {
    var custom = (ctx.program && ctx.program.texts && ctx.program.texts[ctx.lang]) || {};
    var s = custom[key] || TEXTS[ctx.lang][key] || TEXTS.en[key] || key;
    return s.replace(/\{(\w+)\}/g, function (_, k) { return vars && vars[k] != null ? vars[k] : ""; });
  }

  function money(ctx, amount, currency) {
    return new Intl.NumberFormat(ctx.lang, { style: "currency", currency: currency || ctx.program.currency })
      .format(Number(amount));
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  function api(cfg, method, path, body) {
    var url = cfg.proxy ? cfg.proxy.replace(/\/$/, "") + "/" + path
      : (cfg.api || "").replace(/\/$/, "") + "/storefront/v1/" + path +
        (path.indexOf("?") < 0 ? "?" : "&") + "shop=" + encodeURIComponent(cfg.shop || "");
    var headers = { "Content-Type": "application/json" };
    if (cfg.token && !cfg.proxy) headers.Authorization = "Bearer " + cfg.token;
    return fetch(url, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined,
      credentials: cfg.proxy ? "same-origin" : "omit" }).then(function (r) {
      return r.status === 204 ? {} : r.json().then(function (j) { if (!r.ok) throw j; return j; });
    });
  }

  function summary(cfg) { return api(cfg, "GET", "me"); }

  /* -- the panel ------------------------------------------------------------------------------ */
  var state = { open: false, node: null };

  function waysList(ctx) {
    return el("ul", {}, ctx.program.ways_to_earn.map(function (w) {
      var text = w.kind === "order" ? t(ctx, Number(w.points_per_unit) === 1 ? "order_one" : "order",
        { n: w.points_per_unit, money: money(ctx, 1, w.currency) })
        : w.kind === "cashback" ? t(ctx, "cashback", { n: w.percent })
        : t(ctx, w.kind) + (w.points ? " · " + w.points + " " + t(ctx, "points") : "");
      return el("li", { text: text });
    }));
  }

  function rewardsList(ctx, balance) {
    return el("ul", {}, ctx.program.rewards.map(function (r) {
      var value = r.amount ? money(ctx, r.amount) : r.percent ? r.percent + "%" : "";
      var status = balance == null ? "" : balance >= r.points ? t(ctx, "can_afford") : t(ctx, "need", { n: r.points - balance });
      return el("li", { class: "row" }, [el("span", { text: r.name + (value ? " (" + value + ")" : "") }),
        el("span", { class: "muted", text: r.points + " " + t(ctx, "points") + (status ? " · " + status : "") })]);
    }));
  }

  function render(ctx, box) {
    box.textContent = "";
    var m = ctx.member, p = ctx.program;
    box.appendChild(el("button", { type: "button", class: "link close", "aria-label": t(ctx, "close"), text: "\u2715",
      onclick: function () { close(); } }));
    box.appendChild(el("h2", { id: "loyalty-title", text: m ? t(ctx, "title") : t(ctx, "join_title") }));
    if (!m) {
      box.appendChild(el("p", { text: t(ctx, "join_text") }));
      box.appendChild(el("a", { class: "btn", href: ctx.cfg.joinUrl || "/account/register", text: t(ctx, "join") }));
      box.appendChild(el("h3", { text: t(ctx, "ways") }));
      box.appendChild(waysList(ctx));
      box.appendChild(el("h3", { text: t(ctx, "rewards") }));
      box.appendChild(rewardsList(ctx, null));
      return;
    }
    box.appendChild(el("p", {}, [el("span", { class: "big", "data-points": String(m.points), text: String(m.points) }),
      el("span", { text: " " + t(ctx, "points") }),
      m.pending_points ? el("span", { class: "muted", text: " · " + m.pending_points + " " + t(ctx, "pending") }) : null]));
    if (Number(m.store_credit.amount) > 0 || Number(m.pending_credit.amount) > 0) {
      box.appendChild(el("p", { text: t(ctx, "credit") + ": " + money(ctx, m.store_credit.amount, m.store_credit.currency) }));
    }
    if (m.expiring) {
      box.appendChild(el("p", { class: "muted", text: t(ctx, "expiring", { n: m.expiring.points,
        date: new Date(m.expiring.at).toLocaleDateString(ctx.lang) }) }));
    }
    if (m.tier) {
      var next = m.tier.next_threshold ? Number(m.tier.next_threshold) : null;
      var pct = next ? Math.min(100, Math.round(100 * Number(m.tier.value) / next)) : 100;
      box.appendChild(el("h3", { text: t(ctx, "tier") + ": " + m.tier.name }));
      box.appendChild(el("div", { class: "bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
        "aria-valuenow": String(pct), "aria-label": t(ctx, "tier") }, [el("i", { style: "width:" + pct + "%" })]));
      box.appendChild(el("p", { class: "muted", text: next ? t(ctx, "to_next", { n: Math.max(0, next - Number(m.tier.value)),
        tier: m.tier.next }) : t(ctx, "top_tier") }));
    }
    box.appendChild(el("h3", { text: t(ctx, "rewards") }));
    box.appendChild(rewardsList(ctx, m.points));
    box.appendChild(el("h3", { text: t(ctx, "ways") }));
    box.appendChild(waysList(ctx));
    birthdayBlock(ctx, box, m);
    if (m.referral) {
      var link = el("input", { readonly: "readonly", value: m.referral.link, "aria-label": t(ctx, "refer") });
      var copy = el("button", { type: "button", text: t(ctx, "copy"), onclick: function () {
        (navigator.clipboard ? navigator.clipboard.writeText(m.referral.link) : Promise.reject()).then(function () {
          copy.textContent = t(ctx, "copied");
        }, function () { link.select(); });
        api(ctx.cfg, "POST", "referrals/share", { channel: "copy" }).catch(function () {});
      } });
      var actions = [copy];
      if (navigator.share) {
        actions.push(el("button", { type: "button", text: t(ctx, "share"), onclick: function () {
          navigator.share({ url: m.referral.link }).catch(function () {});
        } }));
      }
      box.appendChild(el("h3", { text: t(ctx, "refer") }));
      box.appendChild(link);
      box.appendChild(el("p", { class: "row" }, actions));
    }
    if (m.activity.length) {
      box.appendChild(el("h3", { text: t(ctx, "activity") }));
      box.appendChild(el("ul", {}, m.activity.map(function (a) {
        return el("li", { class: "row" }, [el("span", { text: a.text }),
          el("span", { class: "muted", text: a.credit ? money(ctx, a.credit) : (a.points > 0 ? "+" : "") + a.points })]);
      })));
    }
  }

  /* The birthday is given once; after that the shop corrects it (the server says so too: 409). */
  function birthdayBlock(ctx, box, m) {
    var way = ctx.program.ways_to_earn.filter(function (w) { return w.kind === "birthday"; })[0];
    if (!way) return;
    box.appendChild(el("h3", { text: t(ctx, "bday_title") }));
    if (m.birthday) {
      var d = m.birthday.indexOf("--") === 0 ? m.birthday.slice(2) : m.birthday;
      box.appendChild(el("p", { "data-birthday": m.birthday, text: t(ctx, "bday_is", { date: d }) }));
      box.appendChild(el("p", { class: "muted", text: t(ctx, "bday_locked") }));
      return;
    }
    var live = el("p", { class: "muted", role: "status", "aria-live": "polite" });
    var input = el("input", { type: "date", name: "birthday", max: new Date().toISOString().slice(0, 10),
      "aria-label": t(ctx, "bday_title") });
    var save = el("button", { type: "button", text: t(ctx, "bday_save"), onclick: function () {
      if (!input.value) return;
      save.disabled = true;
      api(ctx.cfg, "POST", "me/birthday", { birthday: input.value }).then(function (r) {
        m.birthday = r.birthday;
        live.textContent = t(ctx, "bday_saved");
        render(ctx, box);
      }, function (e) {
        save.disabled = false;
        live.textContent = (e && e.error && e.error.message) || t(ctx, "error");
      });
    } });
    box.appendChild(el("p", { text: t(ctx, "bday_ask", { n: way.points }) }));
    box.appendChild(el("p", { class: "row" }, [input, save]));
    box.appendChild(live);
  }

  function onEscape(e) {
    if (e.key === "Escape") close();
  }

  function close() {
    document.removeEventListener("keydown", onEscape, true);
    if (!state.node) return;
    state.node.remove();
    state.node = null;
    state.open = false;
    state.launcher.setAttribute("aria-expanded", "false");
    state.launcher.focus();
  }

  function open(cfg, root, launcher) {
    state.launcher = launcher;
    var box = el("div", { class: "panel" + (cfg.position === "left" ? " left" : ""), role: "dialog",
      "aria-modal": "false", "aria-labelledby": "loyalty-title", tabindex: "-1", id: "loyalty-panel" });
    box.style.setProperty("--c", /^#[0-9a-f]{6}$/i.test(cfg.colour || "") ? cfg.colour : "#1f6feb");
    box.appendChild(el("p", { text: TEXTS[lang(cfg)].loading }));
    if (!root.querySelector("style[data-panel]")) root.appendChild(el("style", { "data-panel": "1", text: STYLE }));
    root.appendChild(box);
    document.addEventListener("keydown", onEscape, true);  // wherever focus is, Escape closes
    state.node = box;
    state.open = true;
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-controls", "loyalty-panel");
    return summary(cfg).then(function (data) {
      var ctx = { cfg: cfg, program: data.program, member: data.member, lang: lang(cfg, data.program) };
      if (state.node !== box) return;
      render(ctx, box);
      box.focus();
    }, function () { box.textContent = TEXTS[lang(cfg)].error; });
  }

  /* -- the cart widget ------------------------------------------------------------------------ */
  function cartWidget(cfg) {
    var mountPoint = document.querySelector("[data-loyalty-cart]");
    if (!mountPoint || mountPoint.shadowRoot) return;
    var root = mountPoint.attachShadow({ mode: "open" });
    root.appendChild(el("style", { text: STYLE }));
    var box = el("div", { class: "cart", role: "region", "aria-label": TEXTS[lang(cfg)].rewards });
    box.style.setProperty("--c", /^#[0-9a-f]{6}$/i.test(cfg.colour || "") ? cfg.colour : "#1f6feb");
    var live = el("p", { role: "status", "aria-live": "polite" });
    root.appendChild(box);
    var applied = null, timer = null, lastCart = null;

    function cartNow() { return lastCart || window.LoyaltyCart || null; }

    function quote() {
      var cart = cartNow();
      box.hidden = !cart || !cart.lines || !cart.lines.length;
      if (box.hidden) { box.textContent = ""; return; }
      api(cfg, "POST", "cart/quote", cart).then(function (q) { draw(q); }, function () {
        box.textContent = TEXTS[lang(cfg)].error;
      });
    }

    function draw(q) {
      var ctx = { cfg: cfg, program: { currency: q.subtotal.currency, texts: {} }, lang: lang(cfg) };
      box.textContent = "";
      var earn = t(ctx, "cart_earn", { points: q.earn.points });
      if (Number(q.earn.cashback.amount) > 0) earn += " " + t(ctx, "cart_cashback", { money: money(ctx, q.earn.cashback.amount, q.earn.cashback.currency) });
      box.appendChild(el("p", { "data-earn": String(q.earn.points), text: earn }));
      if (applied) {
        box.appendChild(el("p", { class: "row" }, [el("span", { text: t(ctx, "applied", { code: applied.code }) }),
          el("button", { type: "button", text: t(ctx, "remove"), "aria-label": t(ctx, "remove") + " " + applied.code,
            onclick: function () { remove(ctx); } })]));
      } else if (!q.member) {
        box.appendChild(el("p", { class: "muted", text: t(ctx, "sign_in") }));
      } else {
        box.appendChild(el("ul", {}, q.rewards.map(function (r) {
          var value = r.value ? money(ctx, r.value.amount, r.value.currency) : r.percent ? r.percent + "%" : "";
          return el("li", { class: "row" }, [
            el("span", { text: r.name + (value ? " · " + value : "") + (r.available ? "" : " — " + r.reason) }),
            r.available ? el("button", { type: "button", text: t(ctx, "apply"), "aria-label": t(ctx, "apply") + " " + r.name,
              onclick: function () { apply(ctx, r); } }) : null]);
        })));
      }
      box.appendChild(live);
    }

    function apply(ctx, reward) {
      var key = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
      api(cfg, "POST", "cart/redemptions", { idempotency_key: key, reward_id: reward.id, cart: cartNow() }).then(function (r) {
        applied = { id: r.redemption_id, code: r.code, amount: r.value.amount };
        live.textContent = t(ctx, "applied", { code: r.code });
        platformApply(r.code);
        document.dispatchEvent(new CustomEvent("loyalty:apply", { detail: applied }));
        quote();
      }, function (e) { live.textContent = (e && e.error && e.error.message) || t(ctx, "error"); });
    }

    function remove(ctx) {
      api(cfg, "DELETE", "cart/redemptions/" + applied.id).then(function () {
        document.dispatchEvent(new CustomEvent("loyalty:remove", { detail: applied }));
        applied = null;
        quote();
      }, function (e) { live.textContent = (e && e.error && e.error.message) || t(ctx, "error"); });
    }

    function platformApply(code) {
      if (cfg.platform === "shopify") {
        fetch("/discount/" + encodeURIComponent(code) + "?redirect=/cart", { credentials: "same-origin" });
      } else if (cfg.platform === "woocommerce" && cfg.wcAjax) {
        var form = new FormData();
        form.append("coupon_code", code);
        form.append("security", cfg.wcNonce || "");
        fetch(cfg.wcAjax + "?wc-ajax=apply_coupon", { method: "POST", body: form, credentials: "same-origin" });
      }
    }

    document.addEventListener("loyalty:cart", function (e) {
      lastCart = e.detail;
      clearTimeout(timer);
      timer = setTimeout(quote, 150);
    });
    quote();
  }

  /* -- referrals: remember a landing, claim it once signed in ------------------------------- */
  var STORE = "loyalty:landing";

  function referral(cfg, code) {
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(STORE) || "null"); } catch (e) { saved = null; }
    if (saved && saved.until < Date.now()) { localStorage.removeItem(STORE); saved = null; }
    var visitor = (saved && saved.visitor) || ((window.crypto && crypto.randomUUID) ? crypto.randomUUID()
      : String(Date.now()) + String(Math.random()).slice(2));
    var step = code ? api(cfg, "POST", "referrals/landings", { code: code, visitor_id: visitor }).then(function (r) {
      saved = { visitor: visitor, code: code, until: Date.now() + r.remember_days * 864e5 };
      localStorage.setItem(STORE, JSON.stringify(saved));
    }, function () {}) : Promise.resolve();
    return step.then(function () {
      if (!saved || !(cfg.token || cfg.proxy)) return;
      return api(cfg, "POST", "referrals/claim", { visitor_id: saved.visitor }).then(function (r) {
        localStorage.removeItem(STORE);
        document.dispatchEvent(new CustomEvent("loyalty:referral", { detail: r }));
      }, function () {});
    });
  }

  window.LoyaltyPanel = {
    toggle: function (cfg, root, launcher) { return state.open ? close() : open(cfg, root, launcher); },
    cart: cartWidget,
    referral: referral
  };
})();
