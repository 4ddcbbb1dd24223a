/* Loyalty panel and cart widget, loaded on demand by loyalty.js. No framework, no build step.
   Everything renders inside shadow roots, so the theme and the widget leave each other alone. */
(function () {
  "use strict";

  /* Every text comes from the server in the shopper's language (the catalogue, with the
     merchant's own wording): `program.texts` (static texts, {name} placeholders) and the
     rendered `*_text` / `text` fields. Before the first answer, the launcher's bootstrap texts
     (loading, error), also from the catalogue, written into loyalty.js when it is served. */
  function boot(cfg, key) {
    var all = (window.LoyaltyLauncher && window.LoyaltyLauncher.texts) || {};
    var l = lang(cfg);
    return (all[l] || all.en || {})[key] || "";
  }

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
    ".panel textarea{width:100%;min-height:56px;padding:6px;border:1px solid #ccc;border-radius:6px;font:13px system-ui,sans-serif}" +
    ".panel input:focus-visible,.panel textarea:focus-visible{outline:3px solid #111;outline-offset:1px}" +
    ".panel input[type=radio]{width:auto;margin:0;accent-color:var(--c)}.goal{padding:6px 0;border-bottom:1px solid #f1f3f4}" +
    ".goal .bar{margin:4px 0 2px}.tag{font-size:12px;font-weight:600;padding:2px 8px;border-radius:10px;white-space:nowrap;" +
    "background:#e6f4ea;color:#137333}.panel small{font-size:12px}.err{color:#b3261e}.panel fieldset{border:0;padding:0;margin:0 0 10px}" +
    ".panel legend{font-weight:600;padding:0;margin:0 0 4px}.opts{display:flex;flex-wrap:wrap;gap:4px 12px}" +
    ".opt{display:inline-flex;align-items:center;gap:4px;cursor:pointer}.panel label.field{display:block;font-weight:600;margin:4px 0}" +
    ".panel ol.board{list-style:none;margin:4px 0 6px;padding:0}.board li{display:flex;gap:8px}.board .rk{min-width:2.2em;color:#5f6368}.board .nm{flex:1}" +
    ".board li.me{font-weight:700}.stack{display:flex;flex-direction:column;gap:8px;align-items:flex-start}" +
    ".cart{border:1px solid #e0e0e0;border-radius:10px;padding:12px;font-size:14px;background:#fff;color:#1d1d1f}";

  function lang(cfg, program) {
    return String((program && program.locale) || cfg.locale || document.documentElement.lang || "en").slice(0, 2).toLowerCase();
  }

  function t(ctx, key, vars) {
    var s = (ctx.texts && ctx.texts[key]) || "";
    return s.replace(/\{(\w+)\}/g, function (_, k) { return vars && vars[k] != null ? vars[k] : ""; });
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

  /* The storefront's language goes with every call (`locale`): the server answers in it.
     `fresh`: past the browser's cache (the summary is cached a second; after a change, read it anew). */
  function api(cfg, method, path, body, fresh) {
    var locale = "locale=" + encodeURIComponent(cfg.locale || document.documentElement.lang || "");
    var url = cfg.proxy ? cfg.proxy.replace(/\/$/, "") + "/" + path + (path.indexOf("?") < 0 ? "?" : "&") + locale
      : (cfg.api || "").replace(/\/$/, "") + "/storefront/v1/" + path +
        (path.indexOf("?") < 0 ? "?" : "&") + "shop=" + encodeURIComponent(cfg.shop || "") + "&" + locale;
    var headers = { "Content-Type": "application/json" };
    if (cfg.token && !cfg.proxy) headers.Authorization = "Bearer " + cfg.token;
    return fetch(url, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined,
      credentials: cfg.proxy ? "same-origin" : "omit", cache: fresh ? "no-store" : "default" }).then(function (r) {
      return r.status === 204 ? {} : r.json().then(function (j) { if (!r.ok) throw j; return j; });
    });
  }

  function summary(cfg, fresh) { return api(cfg, "GET", "me", null, fresh); }

  /* -- the panel ------------------------------------------------------------------------------ */
  var state = { open: false, node: null };

  function waysList(ctx) {
    return el("ul", {}, ctx.program.ways_to_earn.map(function (w) { return el("li", { text: w.text }); }));
  }

  function rewardsList(ctx, member) {
    return el("ul", {}, ctx.program.rewards.map(function (r) {
      var status = member && member.rewards ? member.rewards[r.id] : "";
      return el("li", { class: "row" }, [el("span", { text: r.name + (r.value_text && r.value_text !== r.name ? " (" + r.value_text + ")" : "") }),
        el("span", { class: "muted", text: r.cost_text + (status ? " · " + status : "") })]);
    }));
  }

  /* Where a guest creates an account: the embed's setting, else the platform's own page
     (Shopify's classic /account/register, WooCommerce's My account page). */
  function joinUrl(cfg) {
    return cfg.joinUrl || (cfg.platform === "woocommerce" ? "/my-account/" : "/account/register");
  }

  /* A bar that says what it shows: its name, where it stands and the server's words ("2 of 3 orders"). */
  function progressBar(name, current, target, text) {
    var now = Number(current) || 0, max = Number(target) || 1;
    var pct = Math.max(0, Math.min(100, Math.round(100 * now / max)));
    return el("div", { class: "bar", role: "progressbar", "aria-label": name, "aria-valuemin": "0",
      "aria-valuemax": String(max), "aria-valuenow": String(Math.min(now, max)), "aria-valuetext": text },
      [el("i", { style: "width:" + pct + "%" })]);
  }

  /* Read the summary again and draw it (after a join, an answer): the focus and the scroll stay
     where the shopper was, on `focus` (a selector) when the control they used is gone. */
  function reload(ctx, box, focus) {
    return summary(ctx.cfg, true).then(function (data) {
      if (state.node !== box) return;
      var top = box.scrollTop;
      render(context(ctx.cfg, data), box);
      box.scrollTop = top;
      var target = focus && box.querySelector(focus);
      if (target) target.focus();
    });
  }

  function badgesBlock(ctx, box, m) {
    if (!m.badges || !m.badges.length) return;
    box.appendChild(el("h3", { text: t(ctx, "badge_section") }));
    box.appendChild(el("ul", {}, m.badges.map(function (b) {
      var done = b.earned > 0, going = Number(b.progress.current) < Number(b.progress.target);
      return el("li", { class: "goal", "data-badge": b.id, "data-earned": String(b.earned) }, [
        el("div", { class: "row" }, [el("strong", { text: b.name }), done
          ? el("span", { class: "tag" }, [el("span", { "aria-hidden": "true", text: "\u2713 " }),
            el("span", { text: b.earned > 1 ? t(ctx, "badge_times", { times: b.earned }) : t(ctx, "badge_earned") })])
          : (b.points_text ? el("small", { class: "muted", text: b.points_text }) : null)]),
        going ? progressBar(b.name, b.progress.current, b.progress.target, b.text) : null,
        going || !done ? el("small", { class: "muted", text: b.text }) : null]);
    })));
  }

  function challengesBlock(ctx, box, m) {
    if (!m.challenges || !m.challenges.length) return;
    box.appendChild(el("h3", { text: t(ctx, "challenge_section") }));
    box.appendChild(el("ul", {}, m.challenges.map(function (c) {
      var live = el("small", { class: "err", "aria-live": "polite" });
      var parts = [el("strong", { text: c.name }), el("br"),
        el("small", { class: "muted", text: [c.ends_text, c.points_text].filter(Boolean).join(" \u00b7 ") })];
      if (c.joined) {
        parts.push(progressBar(c.name, c.progress.current, c.progress.target, c.text));
        parts.push(el("small", { class: "muted", text: c.text + (c.enrollment === "opt_in" ? " \u00b7 " + t(ctx, "challenge_joined") : "") }));
      } else {
        var join = el("button", { type: "button", text: t(ctx, "challenge_join"),
          "aria-label": t(ctx, "challenge_join_label", { challenge: c.name }), onclick: function () {
            join.disabled = true;
            live.textContent = "";
            api(ctx.cfg, "POST", "me/challenges/" + encodeURIComponent(c.id) + "/join").then(function () {
              return reload(ctx, box, "[data-challenge='" + c.id + "']");
            }).catch(function () { join.disabled = false; live.textContent = t(ctx, "error"); });
          } });
        parts.push(el("div", { class: "row" }, [el("span", { class: "muted", text: t(ctx, "challenge_open") }), join]));
      }
      parts.push(live);
      return el("li", { class: "goal", tabindex: "-1", "data-challenge": c.id, "data-joined": String(!!c.joined) }, parts);
    })));
  }

  /* Opt-in only, under a name the shopper chose; the board lists display names, never an e-mail. */
  function leaderboardBlock(ctx, box, m) {
    var lb = m.leaderboard;
    if (!lb) return;
    var section = el("section", { "data-leaderboard": lb.opted_in ? "in" : "out", "aria-labelledby": "lb-title" });
    section.appendChild(el("h3", { id: "lb-title", tabindex: "-1", text: t(ctx, "lb_title") }));
    var live = el("p", { class: "err", "aria-live": "polite" });
    if (!lb.opted_in) {
      var input = el("input", { id: "lb-name", name: "display_name", autocomplete: "nickname", maxlength: "24",
        "aria-label": t(ctx, "lb_name") });
      var join = el("button", { type: "submit", text: t(ctx, "lb_join") });
      section.appendChild(el("p", { class: "muted", text: t(ctx, "lb_intro") }));
      section.appendChild(el("form", { class: "stack", onsubmit: function (e) {
        e.preventDefault();
        if (!input.value.trim()) { input.focus(); return; }
        join.disabled = true;
        live.textContent = "";
        api(ctx.cfg, "POST", "me/leaderboard", { display_name: input.value }).then(function () {
          return reload(ctx, box, "#lb-title");
        }).catch(function (e) {
          join.disabled = false;
          var err = e && e.error;  // a refused or taken name: the server says why, in the shopper's language
          live.textContent = err && /^display_name_/.test(err.code || "") ? err.message : t(ctx, "error");
          input.focus();
        });
      } }, [el("label", { class: "field", for: "lb-name", text: t(ctx, "lb_name") }), input, join]));
      section.appendChild(live);
      box.appendChild(section);
      return;
    }
    section.appendChild(el("p", { "data-rank": lb.rank == null ? "" : String(lb.rank), text: lb.rank
      ? t(ctx, "lb_you", { rank: lb.rank, name: lb.display_name }) : t(ctx, "lb_you_unranked", { name: lb.display_name }) }));
    var list = el("div", { "aria-live": "polite" });
    section.appendChild(list);
    var leave = el("button", { type: "button", class: "link", text: t(ctx, "lb_leave"), onclick: function () {
      leave.disabled = true;
      api(ctx.cfg, "DELETE", "me/leaderboard").then(function () { return reload(ctx, box, "#lb-title"); })
        .catch(function () { leave.disabled = false; live.textContent = t(ctx, "error"); });
    } });
    section.appendChild(leave);
    section.appendChild(live);
    box.appendChild(section);
    api(ctx.cfg, "GET", "leaderboard", null, true).then(function (board) {
      list.appendChild(el("p", { class: "muted", text: board.period_text + " · " + t(ctx, "lb_metric") }));
      if (!board.entries.length) { list.appendChild(el("p", { class: "muted", text: t(ctx, "lb_empty") })); return; }
      list.appendChild(el("ol", { class: "board" }, board.entries.map(function (e) {
        var mine = board.you && board.you.display_name === e.display_name;
        return el("li", { class: mine ? "me" : "", "data-entry": e.display_name },
          [el("span", { class: "rk", "aria-label": t(ctx, "lb_rank", { rank: e.rank }), text: "#" + e.rank }),
            el("span", { class: "nm", text: e.display_name }), el("span", { text: e.value_text })]);
      })));
    }, function () { list.textContent = t(ctx, "error"); });
  }

  /* The merchant's short survey, answered once (the server rewards it once). */
  function surveyBlock(ctx, box, m) {
    var sv = m.survey;
    if (!sv) return;
    box.appendChild(el("h3", { id: "survey-title", tabindex: "-1", text: t(ctx, "survey_title") }));
    if (sv.answered) {
      box.appendChild(el("p", { "data-survey": "answered", text: t(ctx, "survey_thanks") }));
      return;
    }
    var live = el("p", { class: "err", "aria-live": "polite" });
    var fields = sv.questions.map(function (q, i) {
      var name = "sq-" + i, control;
      if (q.kind === "text") {
        control = el("textarea", { name: name, maxlength: "500", "aria-label": q.text });
      } else {
        var options = q.kind === "rating" ? [1, 2, 3, 4, 5].map(function (n) {
          return { value: String(n), text: String(n), label: t(ctx, "survey_rating", { value: n }) };
        }) : q.choices.map(function (c) { return { value: c.id, text: c.text, label: c.text }; });
        control = el("div", { class: "opts" }, options.map(function (o) {
          return el("label", { class: "opt" }, [el("input", { type: "radio", name: name, value: o.value, "aria-label": o.label }),
            el("span", q.kind === "rating" ? { "aria-hidden": "true", text: o.text } : { text: o.text })]);
        }));
      }
      return el("fieldset", { "data-question": q.id }, [el("legend", { text: q.text }), control]);
    });
    var send = el("button", { type: "submit", text: t(ctx, "survey_send") });
    var form = el("form", { "data-survey": sv.id, onsubmit: function (e) {
      e.preventDefault();
      var answers = {}, missing = false;
      sv.questions.forEach(function (q, i) {
        if (q.kind === "text") { answers[q.id] = form.querySelector("[name=sq-" + i + "]").value; return; }
        var picked = form.querySelector("[name=sq-" + i + "]:checked");
        if (!picked) { missing = true; return; }
        answers[q.id] = q.kind === "rating" ? Number(picked.value) : picked.value;
      });
      if (missing) { live.textContent = t(ctx, "survey_missing"); return; }
      send.disabled = true;
      live.textContent = "";
      api(ctx.cfg, "POST", "me/survey/" + encodeURIComponent(sv.id), { answers: answers }).then(function () {
        return reload(ctx, box, "#survey-title");
      }, function (err) {
        if (err && err.error && err.error.code === "already_answered") return reload(ctx, box, "#survey-title");
        send.disabled = false;
        live.textContent = t(ctx, "error");
      });
    } }, fields.concat([send]));
    if (sv.reward_text) box.appendChild(el("p", { class: "muted", text: sv.reward_text }));
    box.appendChild(form);
    box.appendChild(live);
  }

  function render(ctx, box) {
    box.textContent = "";
    var m = ctx.member;
    box.appendChild(el("button", { type: "button", class: "link close", "aria-label": t(ctx, "close"), text: "\u2715",
      onclick: function () { close(); } }));
    box.appendChild(el("h2", { id: "loyalty-title", text: m ? t(ctx, "title") : t(ctx, "join_title") }));
    if (ctx.program.live === false) box.appendChild(el("p", { class: "muted", "data-paused": "", text: t(ctx, "paused") }));
    if (!m) {
      box.appendChild(el("p", { text: t(ctx, "join_text") }));
      box.appendChild(el("a", { class: "btn", href: joinUrl(ctx.cfg), text: t(ctx, "join") }));
      box.appendChild(el("h3", { text: t(ctx, "ways") }));
      box.appendChild(waysList(ctx));
      box.appendChild(el("h3", { text: t(ctx, "rewards") }));
      box.appendChild(rewardsList(ctx, null));
      return;
    }
    box.appendChild(el("p", {}, [el("span", { class: "big", "data-points": String(m.points), text: m.points_text }),
      el("span", { text: " " + m.points_unit }),
      m.pending_text ? el("span", { class: "muted", text: " · " + m.pending_text }) : null]));
    if (m.credit_text) {
      box.appendChild(el("p", {}, [el("span", { text: m.credit_text }),
        m.pending_credit_text ? el("span", { class: "muted", text: " · " + m.pending_credit_text }) : null]));
    }
    if (m.expiring) box.appendChild(el("p", { class: "muted", text: m.expiring.text }));
    if (m.tier) {
      box.appendChild(el("h3", { text: m.tier.text }));
      box.appendChild(el("div", { class: "bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
        "aria-valuenow": String(m.tier.percent), "aria-label": t(ctx, "tier_progress") }, [el("i", { style: "width:" + m.tier.percent + "%" })]));
      box.appendChild(el("p", { class: "muted", text: m.tier.next_text }));
    }
    badgesBlock(ctx, box, m);
    challengesBlock(ctx, box, m);
    box.appendChild(el("h3", { text: t(ctx, "rewards") }));
    box.appendChild(rewardsList(ctx, m));
    box.appendChild(el("h3", { text: t(ctx, "ways") }));
    box.appendChild(waysList(ctx));
    birthdayBlock(ctx, box, m);
    if (m.referral) {
      var link = el("input", { readonly: "readonly", value: m.referral.link, "aria-label": t(ctx, "refer_link") });
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
    surveyBlock(ctx, box, m);
    leaderboardBlock(ctx, box, m);
    if (m.activity.length) {
      box.appendChild(el("h3", { text: t(ctx, "activity") }));
      box.appendChild(el("ul", {}, m.activity.map(function (a) {
        return el("li", { class: "row" }, [el("span", {}, [el("span", { text: a.text }), el("br"),
          el("small", { class: "muted", text: a.date_text })]), el("span", { class: "muted", text: a.amount_text })]);
      })));
    }
  }

  /* The birthday is given once; after that the shop corrects it (the server says so too: 409). */
  function birthdayBlock(ctx, box, m) {
    var way = ctx.program.ways_to_earn.filter(function (w) { return w.kind === "birthday"; })[0];
    if (!way) return;
    box.appendChild(el("h3", { text: t(ctx, "bday_title") }));
    if (m.birthday) {
      box.appendChild(el("p", { "data-birthday": m.birthday, text: m.birthday_text }));
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
        m.birthday_text = r.text;
        render(ctx, box);
      }, function (e) {
        save.disabled = false;
        live.textContent = t(ctx, e && e.error && e.error.code === "birthday_already_set" ? "bday_locked" : "error");
      });
    } });
    box.appendChild(el("p", { text: way.ask_text }));
    box.appendChild(el("p", { class: "row" }, [input, save]));
    box.appendChild(live);
  }

  function context(cfg, data) {
    return { cfg: cfg, program: data.program, member: data.member, texts: data.program.texts, lang: lang(cfg, data.program) };
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
    box.appendChild(el("p", { text: boot(cfg, "loading") }));
    if (!root.querySelector("style[data-panel]")) root.appendChild(el("style", { "data-panel": "1", text: STYLE }));
    root.appendChild(box);
    document.addEventListener("keydown", onEscape, true);  // wherever focus is, Escape closes
    state.node = box;
    state.open = true;
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-controls", "loyalty-panel");
    return summary(cfg).then(function (data) {
      if (state.node !== box) return;
      render(context(cfg, data), box);
      box.focus();
    }, function () { box.textContent = boot(cfg, "error"); });
  }

  /* -- the cart widget ------------------------------------------------------------------------
     The cart comes from the platform itself: Shopify's AJAX Cart API (/cart.js), WooCommerce's
     Store API (/wp-json/wc/store/v1/cart, classic cart and Cart/Checkout blocks alike); a page of
     its own may still hand it over as window.LoyaltyCart / `loyalty:cart` events (the demo).
     The widget follows the theme's cart changes, re-creates its mount points when a theme
     re-renders them (Dawn's cart drawer replaces its innerHTML), and applies a code the way the
     platform's own cart does, so the cart shows the discount. */
  function dec(minor, unit) {  // minor units to a decimal string (exact enough: the backend rounds)
    return (Number(minor) / Math.pow(10, unit)).toFixed(unit + 4);
  }

  function json(r) {
    return r.json().then(function (j) { if (!r.ok) throw j; return j; });
  }

  /* Shopify: https://shopify.dev/docs/api/ajax/reference/cart — amounts in the currency's subunit
     (x100 even for currencies without one); `discount` on /cart/update.js sets the codes
     (changelog 2025-05-21 "Discounts support on /cart/update.js"). */
  function shopifySource(cfg) {
    var root = (window.Shopify && Shopify.routes && Shopify.routes.root) || "/";
    var raw = null;
    function read() {
      return fetch(root + "cart.js", { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(json).then(function (c) {
          raw = c;
          var rate = window.Shopify && Shopify.currency && Shopify.currency.active === c.currency &&
            Number(Shopify.currency.rate) !== 1 ? String(Shopify.currency.rate) : undefined;
          return { currency: c.currency, rate: rate, discount: dec(Math.max(0, c.items_subtotal_price - c.total_price), 2),
            codes: (c.discount_codes || []).filter(function (d) { return d.applicable !== false; })
              .map(function (d) { return String(d.code).toLowerCase(); }),
            lines: c.items.map(function (i) {
              var off = (i.line_level_discount_allocations || []).reduce(function (s, a) { return s + a.amount; }, 0);
              var gross = off ? i.final_line_price + off : (i.original_line_price || i.final_line_price);
              return { line_id: String(i.key || i.variant_id).slice(0, 64), product_id: String(i.product_id),
                variant_id: String(i.variant_id), quantity: i.quantity, price: dec(gross / i.quantity, 2),
                discount: dec(gross - i.final_line_price, 2), gift_card: !!i.gift_card };
            }) };
        });
    }
    function setCodes(codes) {
      return fetch(root + "cart/update.js", { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ discount: codes.join(",") }) }).then(json).then(function (c) {
        if (typeof window.publish === "function") {  // Dawn's pubsub.js: the theme re-renders its cart
          window.publish(typeof PUB_SUB_EVENTS !== "undefined" ? PUB_SUB_EVENTS.cartUpdate : "cart-update",
            { source: "loyalty", cartData: c });
        }
        return c;
      });
    }
    function others(code) {
      return ((raw && raw.discount_codes) || []).map(function (d) { return d.code; })
        .filter(function (c) { return c.toLowerCase() !== code.toLowerCase(); });
    }
    return {
      read: read,
      apply: function (code) { return setCodes(others(code).concat(code)); },
      remove: function (code) { return setCodes(others(code)); },
      watch: function (changed) {
        // Dawn's assets/pubsub.js: subscribe(PUB_SUB_EVENTS.cartUpdate, ...) (product-form.js, cart.js publish it)
        if (typeof window.subscribe === "function") {
          window.subscribe(typeof PUB_SUB_EVENTS !== "undefined" ? PUB_SUB_EVENTS.cartUpdate : "cart-update", changed);
        }
        observeRequests(/\/cart\/(add|change|update|clear)(\.js)?(\?|$)|\/discount\//, changed);
      }
    };
  }

  /* WooCommerce: the Store API cart (plugins/woocommerce/src/StoreApi/docs/cart.md): prices in
     minor units (`currency_minor_unit`), line totals ex tax, coupons already spread over lines;
     POSTs carry the `Nonce` header and answer with a fresh one (docs/nonce-tokens.md). */
  function wooSource(cfg) {
    var base = (cfg.storeApi || "/wp-json/wc/store/v1/").replace(/\/?$/, "/");
    var nonce = cfg.storeNonce || "";
    var blocks = cfg.cartMode === "blocks";
    function read() {
      return fetch(base + "cart", { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(json).then(function (c) {
          var t = c.totals || {}, unit = t.currency_minor_unit == null ? 2 : t.currency_minor_unit;
          return { currency: t.currency_code, codes: (c.coupons || []).map(function (k) { return String(k.code).toLowerCase(); }),
            lines: c.items.map(function (i) {
              return { line_id: String(i.key).slice(0, 64), product_id: String(i.id), quantity: i.quantity,
                price: dec(i.totals.line_subtotal / i.quantity, unit),
                discount: dec(Math.max(0, i.totals.line_subtotal - i.totals.line_total), unit) };
            }) };
        });
    }
    function store(path, body) {  // Store API POST with the nonce; the blocks' data store is told the new cart
      return fetch(base + path, { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Nonce: nonce }, body: JSON.stringify(body) })
        .then(function (r) { nonce = r.headers.get("Nonce") || nonce; return json(r); }).then(function (c) {
          var wp = window.wp, d = wp && wp.data && wp.data.dispatch && wp.data.dispatch("wc/store/cart");
          if (d && d.receiveCart) d.receiveCart(c);  // woocommerce-blocks assets/js/data/cart/actions.ts
          return c;
        });
    }
    function classic(endpoint, data) {  // what assets/js/frontend/cart.js posts (apply_coupon / remove_coupon)
      var form = new FormData();
      Object.keys(data).forEach(function (k) { form.append(k, data[k]); });
      var url = (cfg.wcAjax || "/?wc-ajax=%%endpoint%%").replace("%%endpoint%%", endpoint);
      return fetch(url, { method: "POST", body: form, credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw r;
        var $ = window.jQuery;  // let the classic cart / checkout re-render itself, as its own coupon form does
        if ($) {
          $(document.body).trigger(endpoint === "apply_coupon" ? "applied_coupon" : "removed_coupon", [data.coupon_code || data.coupon]);
          $(document).trigger("wc_update_cart", [true]);
          $(document.body).trigger("update_checkout");
        }
      });
    }
    var params = window.wc_cart_params || window.wc_checkout_params || {};
    return {
      read: read,
      apply: function (code) {
        return blocks ? store("cart/apply-coupon", { code: code })
          : classic("apply_coupon", { security: params.apply_coupon_nonce || cfg.applyNonce || "", coupon_code: code });
      },
      remove: function (code) {
        return blocks ? store("cart/remove-coupon", { code: code })
          : classic("remove_coupon", { security: params.remove_coupon_nonce || cfg.removeNonce || "", coupon: code });
      },
      watch: function (changed) {
        var $ = window.jQuery;  // classic cart.js / add-to-cart.js trigger these on document.body
        if ($) $(document.body).on("updated_cart_totals updated_wc_div added_to_cart removed_from_cart applied_coupon " +
          "removed_coupon wc_fragments_refreshed updated_checkout", changed);
        var wp = window.wp;  // the Cart and Checkout blocks keep the cart in the `wc/store/cart` data store
        if (wp && wp.data && wp.data.subscribe && wp.data.select) {
          var last;
          wp.data.subscribe(function () {
            var s = wp.data.select("wc/store/cart"), now = s && s.getCartData && s.getCartData();
            if (now && now !== last) { if (last) changed(); last = now; }
          });
        }
        document.body.addEventListener("wc-blocks_added_to_cart", changed);
        observeRequests(/wc\/store(\/v1)?\/(cart|batch)\/|wc-ajax=(add_to_cart|remove_from_cart|apply_coupon|remove_coupon)/, changed);
      }
    };
  }

  /* A page that keeps its own cart (the demo store): it hands the cart over as window.LoyaltyCart
     and `loyalty:cart` events (with `codes`, the discount codes it holds, when it tracks them) and
     is asked to take or drop a code with a `loyalty:code` event, as a platform's cart would be. */
  function pageSource() {
    var last = null;
    function tell(detail) {
      document.dispatchEvent(new CustomEvent("loyalty:code", { detail: detail }));
      return Promise.resolve();
    }
    return {
      read: function () { return Promise.resolve(last || window.LoyaltyCart || null); },
      apply: function (code, got) { return tell({ action: "apply", code: code, amount: got && got.amount }); },
      remove: function (code) { return tell({ action: "remove", code: code }); },
      watch: function (changed) {
        document.addEventListener("loyalty:cart", function (e) { last = e.detail; changed(); });
      }
    };
  }

  var watchers = [];
  /* Themes change the cart with their own requests (Dawn: fetch to /cart/add.js, /cart/change.js;
     classic WooCommerce: jQuery.ajax). Both are observed; the widget re-reads the cart after them. */
  function observeRequests(pattern, changed) {
    watchers.push([pattern, changed]);
    if (watchers.length > 1) return;
    function seen(url) {
      watchers.forEach(function (w) { if (w[0].test(url)) w[1](); });
    }
    var f = window.fetch;
    window.fetch = function (input) {
      var p = f.apply(this, arguments), url = String((input && input.url) || input);
      p.then(function () { seen(url); }, function () {});
      return p;
    };
    var open = XMLHttpRequest.prototype.open;
    XMLHttpRequest.prototype.open = function (method, url) {
      this.addEventListener("load", function () { seen(String(url)); });
      return open.apply(this, arguments);
    };
  }

  function cartWidget(cfg) {
    if (cartWidget.started) return;
    cartWidget.started = true;
    var source = cfg.platform === "shopify" ? shopifySource(cfg)
      : cfg.platform === "woocommerce" ? wooSource(cfg) : pageSource();
    var boxes = [], applied = null, lastQuote = null, lastCart = null, timer = null, busy = false, message = "";
    var KEY = "loyalty:applied:" + (cfg.shop || cfg.proxy || "");
    try { applied = JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (e) { applied = null; }

    function remember(a) {
      applied = a;
      try { if (a) sessionStorage.setItem(KEY, JSON.stringify(a)); else sessionStorage.removeItem(KEY); } catch (e) { /* private mode */ }
    }

    function mount() {  // mount points: the theme's own [data-loyalty-cart], or one we put in cfg.cartSelector
      if (cfg.cartSelector) {
        try {
          document.querySelectorAll(cfg.cartSelector).forEach(function (a) {
            if (!a.querySelector("[data-loyalty-cart]")) a.insertBefore(el("div", { "data-loyalty-cart": "" }), a.firstChild);
          });
        } catch (e) { /* a bad selector in the settings: only explicit mount points */ }
      }
      boxes = boxes.filter(function (b) { return b.isConnected; });
      document.querySelectorAll("[data-loyalty-cart]").forEach(function (m) {
        if (m.shadowRoot) return;
        var root = m.attachShadow({ mode: "open" });
        root.appendChild(el("style", { text: STYLE }));
        var box = el("div", { class: "cart", role: "region", "aria-label": boot(cfg, "title"), hidden: "" });
        box.style.setProperty("--c", /^#[0-9a-f]{6}$/i.test(cfg.colour || "") ? cfg.colour : "#1f6feb");
        root.appendChild(box);
        boxes.push(box);
        paint(box);
      });
    }

    function refresh() {
      clearTimeout(timer);
      timer = setTimeout(quote, 150);
    }

    function quote() {
      source.read().then(function (cart) {
        if (!cart || !cart.lines || !cart.lines.length) { lastQuote = null; boxes.forEach(paint); return; }
        var released = null;
        if (applied && cart.codes && cart.codes.indexOf(applied.code.toLowerCase()) < 0 && !busy) {
          // the code left the cart (the shopper took it off in the theme): give the points back,
          // then quote, so the rewards are priced with the points returned
          var gone = applied;
          remember(null);
          released = api(cfg, "DELETE", "cart/redemptions/" + gone.id).catch(function () {});
        }
        var body = { currency: cart.currency, lines: cart.lines };
        if (cart.rate) body.rate = cart.rate;
        if (cart.discount && Number(cart.discount) > 0) body.discount = cart.discount;
        lastCart = body;
        return Promise.resolve(released).then(function () { return api(cfg, "POST", "cart/quote", body); })
          .then(function (q) { lastQuote = q; boxes.forEach(paint); });
      }).catch(function () { message = boot(cfg, "error"); boxes.forEach(paint); });
    }

    function paint(box) {
      var q = lastQuote;
      box.hidden = !q;
      box.textContent = "";
      if (!q) return;
      var ctx = { cfg: cfg, texts: q.texts, lang: q.locale };
      box.setAttribute("aria-label", t(ctx, "rewards"));
      box.appendChild(el("p", { "data-earn": String(q.earn.points), text: q.earn.text }));
      if (applied) {
        box.appendChild(el("p", { class: "row", role: "status" }, [el("span", { "data-applied": applied.code, text: t(ctx, "applied", { code: applied.code }) }),
          el("button", { type: "button", text: t(ctx, "remove"), "aria-label": t(ctx, "remove_code", { code: applied.code }),
            onclick: function () { remove(ctx); } })]));
      } else if (!q.member) {
        box.appendChild(el("p", { class: "muted", text: t(ctx, "sign_in") }));
      } else {
        box.appendChild(el("ul", {}, q.rewards.map(function (r) {
          return el("li", { class: "row" }, [
            el("span", { text: r.name + (r.available && r.value_text && r.value_text !== r.name ? " · " + r.value_text : "") +
              (r.available ? "" : " — " + r.reason_text) }),
            r.available ? el("button", { type: "button", text: t(ctx, "apply"), "aria-label": t(ctx, "apply_reward", { reward: r.name }),
              onclick: function () { apply(ctx, r); } }) : null]);
        })));
      }
      box.appendChild(el("p", { role: "status", "aria-live": "polite", text: message }));
    }

    function fail(ctx) {
      return function (e) {
        busy = false;
        message = t(ctx, "error");  // the API's own message is English, for developers
        boxes.forEach(paint);
      };
    }

    function apply(ctx, reward) {
      if (busy) return;
      busy = true;
      var key = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
      api(cfg, "POST", "cart/redemptions", { idempotency_key: key, reward_id: reward.id, cart: lastCart }).then(function (r) {
        var got = { id: r.redemption_id, code: r.code, amount: r.value.amount };
        return source.apply(r.code, got).then(function () {
          return source.read();
        }).then(function (cart) {
          if (cart && cart.codes && cart.codes.indexOf(r.code.toLowerCase()) < 0) throw new Error(t(ctx, "error"));
          busy = false;
          remember(got);
          message = "";
          document.dispatchEvent(new CustomEvent("loyalty:apply", { detail: got }));
          quote();
        }, function (e) {  // the platform refused the code: the points go back
          api(cfg, "DELETE", "cart/redemptions/" + got.id).catch(function () {});
          throw e;
        });
      }).catch(fail(ctx));
    }

    function remove(ctx) {
      if (busy || !applied) return;
      busy = true;
      var gone = applied;
      source.remove(gone.code).then(function () {
        return api(cfg, "DELETE", "cart/redemptions/" + gone.id);
      }).then(function () {
        busy = false;
        remember(null);
        message = "";
        document.dispatchEvent(new CustomEvent("loyalty:remove", { detail: gone }));
        quote();
      }).catch(fail(ctx));
    }

    mount();
    var pending = false;
    new MutationObserver(function () {  // a theme re-rendered its cart: put the widget back
      if (pending) return;
      pending = true;
      (window.queueMicrotask || setTimeout)(function () { pending = false; mount(); });
    }).observe(document.body, { childList: true, subtree: true });
    source.watch(refresh);
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
