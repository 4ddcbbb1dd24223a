import { describe, expect, it } from "vitest";

import { parseOrderPoints, parsePosCustomer, parsePosRedemption, parseRedemption, parseSummary, safeUrl } from "../lib/contract";

const full = {
  points: 1250,
  pending_points: 80,
  tier: { name: "Oro", progress: "Ancora 250 punti per Platino" },
  store_credit: "12,50 €",
  rewards: [
    { id: 7, name: "Sconto di 5 €", cost_text: "500 punti", value_text: "5 €", available: true, reason_text: "" },
    { id: "r8", name: "Spedizione gratuita", cost_text: "2000 punti", value_text: "", available: false, reason_text: "Ancora 750 punti" },
    { name: "senza id" },
    "garbage",
  ],
  referral: { link: "https://shop.example/?ref=AB12CD" },
  activity: [{ when_text: "3 mar", text: "Ordine #1001: 120 punti", points_text: "+120" }, { when_text: "x" }],
  birthday: { set: true, text: "Il tuo compleanno: 14 marzo" },
};

describe("parseSummary", () => {
  it("reads every field and drops unreadable list items", () => {
    const s = parseSummary(full)!;
    expect(s.points).toBe(1250);
    expect(s.pending_points).toBe(80);
    expect(s.tier).toEqual({ name: "Oro", progress: "Ancora 250 punti per Platino", percent: null });
    expect(s.store_credit).toBe("12,50 €");
    expect(s.rewards.map((r) => r.id)).toEqual(["7", "r8"]);
    expect(s.rewards[1]).toMatchObject({ available: false, reason_text: "Ancora 750 punti" });
    expect(s.referral).toEqual({ link: "https://shop.example/?ref=AB12CD" });
    expect(s.activity).toHaveLength(1);
    expect(s.birthday).toEqual({ set: true, text: "Il tuo compleanno: 14 marzo" });
  });

  it("fills what is optional and refuses what is not an answer", () => {
    expect(parseSummary({ points: 0 })).toEqual({
      points: 0, pending_points: 0, tier: null, store_credit: null, rewards: [], referral: null, activity: [], birthday: { set: false, text: "" },
      badges: [], challenges: [],
    });
    for (const bad of [null, [], "x", {}, { points: "1" }, { points: Number.NaN }]) expect(parseSummary(bad)).toBeNull();
  });

  it("reads badges and challenges with their progress, and drops what it cannot read", () => {
    const s = parseSummary({
      ...full,
      badges: [{ id: "first", name: "Primo ordine", earned: 1, text: "1 di 1 ordine", percent: 100, points_text: null },
        { id: "regular", name: "Cliente abituale", earned: 0, text: "3 di 8 ordini", percent: 137, points_text: "Premio: 50 punti" },
        { name: "senza id" }, "garbage"],
      challenges: [{ id: "dec", name: "Due ordini", joined: true, text: "1 di 2 ordini", percent: 50, ends_text: "Fino al 31 dicembre 2026" },
        { id: "spend", name: "Spendi 150 €", joined: "yes", percent: "x" }, { id: 3 }],
    })!;
    expect(s.badges).toEqual([
      { id: "first", name: "Primo ordine", earned: 1, text: "1 di 1 ordine", percent: 100, points_text: "" },
      { id: "regular", name: "Cliente abituale", earned: 0, text: "3 di 8 ordini", percent: 100, points_text: "Premio: 50 punti" },
    ]);
    expect(s.challenges).toEqual([
      { id: "dec", name: "Due ordini", joined: true, text: "1 di 2 ordini", percent: 50, ends_text: "Fino al 31 dicembre 2026", points_text: "" },
      { id: "spend", name: "Spendi 150 €", joined: false, text: "", percent: 0, ends_text: "", points_text: "" },
    ]);
  });

  it("never offers a link that is not https", () => {
    expect(parseSummary({ ...full, referral: { link: "javascript:alert(1)" } })!.referral).toBeNull();
    expect(safeUrl("http://shop.example/")).toBeNull();
    expect(safeUrl("https://shop.example/account")).toBe("https://shop.example/account");
    expect(safeUrl("not a url")).toBeNull();
  });
});

describe("order points", () => {
  it("reads the state and the backend's explanation", () => {
    expect(parseOrderPoints({ points: 120, state: "earned", text: "This order earned 120 points" })).toEqual({
      points: 120, state: "earned", text: "This order earned 120 points", claim: null,
    });
    expect(parseOrderPoints({ points: 120, state: "pending", text: "…", claim: { text: "Create an account to keep them", url: "https://shop.example/account/register" } })!.claim)
      .toEqual({ text: "Create an account to keep them", url: "https://shop.example/account/register" });
  });

  it("refuses unknown states and drops a claim without a safe link", () => {
    expect(parseOrderPoints({ points: 1, state: "weird", text: "" })).toBeNull();
    expect(parseOrderPoints({ state: "earned" })).toBeNull();
    expect(parseOrderPoints({ points: 1, state: "earned", text: "", claim: { text: "x", url: "data:text/html,hi" } })!.claim).toBeNull();
  });
});

describe("the backend's answers as extensions/README.md shows them", () => {
  it("summary: money and tier as objects with their texts", () => {
    const s = parseSummary({
      member: true, locale: "it", points: 390, points_text: "390", pending_points: 0, pending_text: null,
      tier: { name: "Bronze", text: "Livello: Bronze", progress_text: "Ancora 110 punti per raggiungere Silver", percent: 78 },
      store_credit: { amount: "12.50", currency: "EUR", text: "12,50 €" }, expiring_text: null,
      rewards: [{ id: "five-off", name: "Sconto sull'ordine", cost: 100, cost_text: "100 punti", value_text: "5,00 €", available: true, reason_text: null }],
      referral: { link: "https://maple-demo.myshopify.com/?ref=VGEARM7W", code: "VGEA-RM7W" },
      activity: [{ when_text: "1 dic 2026", text: "Ordine 5001", points_text: "+80" }],
      birthday: { set: false, text: null },
    })!;
    expect(s.tier).toEqual({ name: "Bronze", progress: "Ancora 110 punti per raggiungere Silver", percent: 78 });
    expect(s.store_credit).toBe("12,50 €");
    expect(s.rewards[0]).toMatchObject({ id: "five-off", cost: 100, reason_text: "" });
    expect(s.birthday).toEqual({ set: false, text: "" });
    expect(parseSummary({ points: 0, store_credit: { amount: "0.00", currency: "EUR", text: "0,00 €" } })!.store_credit).toBeNull();
  });

  it("thank-you: a guest's claim links to signup_url", () => {
    const o = parseOrderPoints({ locale: "en", order_id: "5004", guest: true, points: 0, state: "none", text: "Orders placed as a guest earn no points.",
      claim: { text: "Create an account and an order like this one earns 40 points.", signup_url: "https://maple-demo.myshopify.com/account", estimate: 40 } })!;
    expect(o.claim).toEqual({ text: "Create an account and an order like this one earns 40 points.", url: "https://maple-demo.myshopify.com/account" });
  });

  it("POS: the customer with tier and money objects and rewards with a cost number", () => {
    const c = parsePosCustomer({ locale: "it", customer_id: "7300400500600", points: 390, points_text: "390", pending_points: 0,
      tier: { name: "Bronze", text: "Livello: Bronze", progress_text: "…" }, store_credit: { amount: "3.00", currency: "EUR", text: "3,00 €" },
      rewards: [{ id: "five-off", name: "Sconto sull'ordine", cost: 100, available: true, reason_text: null }] })!;
    expect(c).toMatchObject({ points: 390, tier: "Bronze", store_credit: "3,00 €" });
    expect(c.rewards[0]).toMatchObject({ id: "five-off", cost: 100, cost_text: "" });
  });
});

describe("redemptions and POS", () => {
  it("needs a code", () => {
    expect(parseRedemption({ code: "LOY-7F3K", title: "5 € off", expires_at_text: "Valid until 31 Dec" })).toEqual({ code: "LOY-7F3K", title: "5 € off", expires_at_text: "Valid until 31 Dec" });
    expect(parseRedemption({ code: "" })).toBeNull();
    expect(parsePosRedemption({ code: "LOY-1", title: "x" })).toEqual({ code: "LOY-1", title: "x" });
    expect(parsePosRedemption({})).toBeNull();
  });

  it("reads the POS customer, its tier as a name or an object, and rewards when present", () => {
    expect(parsePosCustomer({ points: 40, tier: "Silver", store_credit: "$3.00" })).toEqual({ points: 40, tier: "Silver", store_credit: "$3.00", rewards: [] });
    expect(parsePosCustomer({ points: 40, tier: { name: "Gold" }, rewards: [{ id: 1, name: "A", available: true }] })!.tier).toBe("Gold");
    expect(parsePosCustomer({ points: 40, tier: null })!.tier).toBeNull();
    expect(parsePosCustomer({ tier: "Gold" })).toBeNull();
  });
});
