// @vitest-environment happy-dom
/** The extensions rendered with a stand-in `shopify` global and backend: what a shopper or the
 *  staff sees in each state (loading, data, refusal, signed out), and what goes over the wire. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

type Reply = { status: number; body: unknown };
let replies: Record<string, Reply>;
let calls: { url: string; init: RequestInit }[];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function stubShopify(extra: Record<string, unknown> = {}): any {
  const shopify = {
    i18n: { translate: (k: string) => `[${k}]`, formatNumber: (n: number) => new Intl.NumberFormat("en-US").format(n) },
    localization: { language: { value: { isoCode: "it" } } },
    sessionToken: { get: async () => "header.payload.sig" },
    ...extra,
  };
  vi.stubGlobal("shopify", shopify);
  return shopify;
}

beforeEach(() => {
  calls = [];
  replies = {};
  document.body.innerHTML = "";
  vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const path = new URL(url).pathname;
    const r = replies[path] ?? { status: 404, body: {} };
    return new Response(JSON.stringify(r.body), { status: r.status });
  });
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.resetModules();
});

/** The target's module, loaded as Shopify loads it (its default export renders into the body).
 *  By path, so this file's type check does not follow into the extensions: each one is checked
 *  against its own surface's types (`tsc -p <extension>`). */
async function run(module: string): Promise<void> {
  const m = (await import(/* @vite-ignore */ `../${module}`)) as { default: () => Promise<void> };
  await m.default();
}

const text = () => document.body.textContent ?? "";
async function until(check: () => boolean) {
  await vi.waitFor(() => { if (!check()) throw new Error(`not yet: ${text()}`); }, { timeout: 2000, interval: 10 });
}

const summary = {
  points: 1250, pending_points: 80, tier: { name: "Oro", progress_text: "Ancora 250 punti per Platino", percent: 75 }, store_credit: { amount: "12.50", currency: "EUR", text: "12,50 €" },
  rewards: [
    { id: "r1", name: "Sconto di 5 €", cost_text: "500 punti", value_text: "5 €", available: true, reason_text: "" },
    { id: "r2", name: "Spedizione gratuita", cost_text: "2000 punti", value_text: "", available: false, reason_text: "Ancora 750 punti" },
  ],
  referral: { link: "https://shop.example/?ref=AB12" },
  activity: [{ when_text: "3 mar", text: "Ordine #1001: 120 punti guadagnati", points_text: "+120" }],
  birthday: { set: false, text: "" },
};

describe("customer account profile block", () => {
  it("shows the balance, tier, credit, the rewards the shopper can take and the referral link", async () => {
    stubShopify();
    replies["/ext/customer-account/summary"] = { status: 200, body: summary };
    await run("customer-account/src/ProfileBlock.tsx");
    await until(() => text().includes("1,250"));
    for (const s of ["Oro", "Ancora 250 punti per Platino", "12,50 €", "Sconto di 5 €", "https://shop.example/?ref=AB12", "[pending]: 80"]) expect(text()).toContain(s);
    expect(text()).not.toContain("Spedizione gratuita"); // not available yet: only on the Rewards page
    expect(document.querySelector("s-link")!.getAttribute("href")).toBe("extension:rewards-page/");
    expect(document.querySelector("s-progress")!.getAttribute("value")).toBe("75");
    expect(calls[0].url).toMatch(/\/ext\/customer-account\/summary\?locale=it$/);
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBe("Bearer header.payload.sig");
  });

  it("shows badges (earned, and in progress with a bar) and challenges with their progress", async () => {
    stubShopify();
    replies["/ext/customer-account/summary"] = { status: 200, body: { ...summary,
      badges: [{ id: "first", name: "Primo ordine", earned: 1, text: "1 di 1 ordine", percent: 100 },
        { id: "regular", name: "Cliente abituale", earned: 0, text: "3 di 8 ordini", percent: 37, points_text: "Premio: 50 punti" }],
      challenges: [{ id: "dec", name: "Due ordini questo mese", joined: true, text: "1 di 2 ordini", percent: 50,
        ends_text: "Fino al 31 dicembre 2026", points_text: "Premio: 100 punti" },
      { id: "spend", name: "Spendi 150 €", joined: false, text: "0 di 150", percent: 0, ends_text: "Fino al 31 dicembre 2026" }] } };
    await run("customer-account/src/ProfileBlock.tsx");
    await until(() => text().includes("Cliente abituale"));
    for (const s of ["[badges]", "Primo ordine", "[badge_earned]", "3 di 8 ordini · Premio: 50 punti", "[challenges]",
      "Due ordini questo mese", "Fino al 31 dicembre 2026 · Premio: 100 punti", "1 di 2 ordini", "[challenge_join_in_shop]"]) {
      expect(text()).toContain(s);
    }
    const bars = [...document.querySelectorAll("s-progress")].map((b) => [b.getAttribute("value"), b.getAttribute("accessibilityLabel") ?? b.getAttribute("accessibilitylabel")]);
    expect(bars).toEqual([["75", expect.any(String)], ["37", "Cliente abituale: 3 di 8 ordini"], ["50", "Due ordini questo mese: 1 di 2 ordini"]]);
    expect(text().match(/\[badge_earned\]/g)).toHaveLength(1); // the badge in progress is not marked earned
  });

  it("says so calmly when the backend fails, and renders nothing for a refused token", async () => {
    stubShopify();
    replies["/ext/customer-account/summary"] = { status: 503, body: {} };
    await run("customer-account/src/ProfileBlock.tsx");
    await until(() => text().includes("[error]"));
    document.body.innerHTML = "";
    vi.resetModules();
    replies["/ext/customer-account/summary"] = { status: 401, body: {} };
    await run("customer-account/src/ProfileBlock.tsx");
    await until(() => calls.length === 2);
    await new Promise((r) => setTimeout(r, 20));
    expect(text()).toBe("");
  });
});

describe("order status block", () => {
  it("explains the order's points in the ledger's words", async () => {
    stubShopify({ order: { value: { id: "gid://shopify/Order/5550001" } } });
    replies["/ext/customer-account/orders/5550001"] = { status: 200, body: { points: 120, state: "reversed", text: "120 punti annullati: ordine rimborsato" } };
    await run("customer-account/src/OrderStatusBlock.tsx");
    await until(() => text().includes("120 punti annullati"));
    expect(document.querySelector("s-banner")!.getAttribute("tone")).toBe("warning");
  });
});

describe("rewards page", () => {
  it("redeems with an idempotency key and shows the code", async () => {
    stubShopify();
    replies["/ext/customer-account/summary"] = { status: 200, body: summary };
    replies["/ext/customer-account/redeem"] = { status: 200, body: { code: "LOY-7F3K", title: "Sconto di 5 €", expires_at_text: "Valido fino al 31 dic" } };
    await run("rewards-page/src/RewardsPage.tsx");
    await until(() => text().includes("Ordine #1001: 120 punti guadagnati"));
    expect(text()).toContain("Ancora 750 punti"); // why the other reward is not yet possible
    const redeem = [...document.querySelectorAll("s-button")].find((b) => b.textContent === "[redeem]" && !b.hasAttribute("disabled"))!;
    redeem.dispatchEvent(new Event("click"));
    await until(() => text().includes("LOY-7F3K"));
    const post = calls.find((c) => c.url.includes("/redeem"))!;
    const body = JSON.parse(String(post.init.body));
    expect(body.reward_id).toBe("r1");
    expect(body.idempotency_key).toMatch(/^[0-9a-f-]{36}$/);
    expect(text()).toContain("Valido fino al 31 dic");
    await until(() => calls.filter((c) => c.url.includes("/summary")).length === 2); // the balance reloads after a redeem
    expect(text()).toContain("LOY-7F3K"); // and the code stays on screen
  });
});

describe("thank-you block", () => {
  it("tells a guest how to claim the points", async () => {
    stubShopify({ orderConfirmation: { value: { order: { id: "gid://shopify/OrderIdentity/777" }, isFirstOrder: true } }, buyerIdentity: { customer: { value: undefined } },
      cost: { subtotalAmount: { value: { amount: 45, currencyCode: "EUR" } } } });
    replies["/ext/checkout/orders/777"] = { status: 200, body: { points: 90, state: "pending", text: "Questo ordine ti farà guadagnare 90 punti", claim: { text: "Crea un account per tenerli", url: "https://shop.example/account/register" } } };
    await run("thank-you/src/ThankYouBlock.tsx");
    await until(() => text().includes("Crea un account per tenerli"));
    expect(document.querySelector("s-button")!.getAttribute("href")).toBe("https://shop.example/account/register");
    expect(calls[0].url).toMatch(/\/ext\/checkout\/orders\/777\?subtotal=45\.00&currency=EUR&locale=it$/);
  });
});

describe("POS", () => {
  const pos = (extra: Record<string, unknown> = {}) => stubShopify({
    customer: { id: 42 }, locale: { current: { value: "de" } },
    session: { getSessionToken: async () => "pos.session.token" },
    action: { presentModal: vi.fn() }, toast: { show: vi.fn() },
    cart: { addCartCodeDiscount: vi.fn(async () => {}) }, ...extra,
  });

  it("shows the customer's balance and tier and opens the redeem modal", async () => {
    const shopify = pos();
    replies["/ext/pos/customers/42"] = { status: 200, body: { points: 2400, tier: "Gold", store_credit: "5,00 €" } };
    await run("pos/src/CustomerBlock.tsx");
    await until(() => text().includes("[points]: 2,400"));
    expect(text()).toContain("[tier]: Gold");
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBe("Bearer pos.session.token");
    document.querySelector("s-button")!.dispatchEvent(new Event("click"));
    expect(shopify.action.presentModal).toHaveBeenCalledOnce();
  });

  it("redeems at the counter, shows the code and applies it to the cart", async () => {
    const shopify = pos();
    replies["/ext/pos/customers/42"] = { status: 200, body: { points: 2400, tier: "Gold", rewards: [{ id: "r1", name: "5 € Rabatt", cost_text: "500 Punkte", available: true }] } };
    replies["/ext/pos/redeem"] = { status: 200, body: { code: "POS-1234", title: "5 € Rabatt" } };
    await run("pos/src/RedeemModal.tsx");
    await until(() => text().includes("5 € Rabatt · 500 Punkte"));
    [...document.querySelectorAll("s-button")].find((b) => b.textContent === "[redeem]")!.dispatchEvent(new Event("click"));
    await until(() => text().includes("POS-1234"));
    const body = JSON.parse(String(calls.find((c) => c.url.includes("/ext/pos/redeem?"))!.init.body));
    expect(body).toMatchObject({ customer_id: "42", reward_id: "r1" });
    [...document.querySelectorAll("s-button")].find((b) => b.textContent === "[apply]")!.dispatchEvent(new Event("click"));
    await until(() => text().includes("[applied]"));
    expect(shopify.cart.addCartCodeDiscount).toHaveBeenCalledWith("POS-1234");
  });
});
