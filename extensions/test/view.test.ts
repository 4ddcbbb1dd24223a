import { describe, expect, it } from "vitest";

import { parseOrderPoints, parsePosCustomer, parseSummary } from "../lib/contract";
import { birthdayView, failureText, hides, orderView, posView, profileView, rewardRows, thankYouView } from "../lib/view";

const fmt = (n: number) => new Intl.NumberFormat("de-DE").format(n);
const summary = parseSummary({
  points: 12500,
  pending_points: 300,
  tier: { name: "Gold", progress: "Noch 2.500 Punkte bis Platin" },
  store_credit: "12,50 €",
  rewards: [
    { id: "a", name: "Versandkostenfrei", cost_text: "20.000 Punkte", available: false, reason_text: "Noch 7.500 Punkte" },
    { id: "b", name: "5 € Rabatt", cost_text: "500 Punkte", value_text: "5 €", available: true },
  ],
  referral: { link: "https://shop.example/?ref=X1Y2" },
})!;

describe("profile block", () => {
  it("shows formatted points, pending only when there are some, and only the rewards the shopper can take", () => {
    const v = profileView(summary, fmt);
    expect(v.points).toBe("12.500");
    expect(v.pending).toBe("300");
    expect(v.rewards.map((r) => r.id)).toEqual(["b"]);
    expect(v.referralLink).toBe("https://shop.example/?ref=X1Y2");
    expect(v.storeCredit).toBe("12,50 €");
    expect(profileView({ ...summary, pending_points: 0, referral: null }, fmt)).toMatchObject({ pending: null, referralLink: null });
  });

  it("lists earned badges first and the challenges the shopper takes part in first", () => {
    const badge = (id: string, earned: number) => ({ id, name: id, earned, text: "", percent: 0, points_text: "" });
    const challenge = (id: string, joined: boolean) => ({ id, name: id, joined, text: "", percent: 0, ends_text: "", points_text: "" });
    const v = profileView({ ...summary, badges: [badge("a", 0), badge("b", 2), badge("c", 0)],
      challenges: [challenge("x", false), challenge("y", true)] }, fmt);
    expect(v.badges.map((b) => b.id)).toEqual(["b", "a", "c"]);
    expect(v.challenges.map((c) => c.id)).toEqual(["y", "x"]);
  });
});

describe("rewards page", () => {
  it("lists what can be taken first, the rest with the backend's reason", () => {
    const rows = rewardRows(summary);
    expect(rows.map((r) => [r.reward.id, r.canRedeem, r.note])).toEqual([["b", true, ""], ["a", false, "Noch 7.500 Punkte"]]);
  });
});

describe("birthday section", () => {
  it("asks with the program's invitation, shows a given birthday, and is absent without a birthday bonus", () => {
    expect(birthdayView({ ...summary, birthday: { set: false, text: "Sagen Sie uns Ihren Geburtstag: 100 Punkte" } })).toEqual({ text: "Sagen Sie uns Ihren Geburtstag: 100 Punkte", ask: true });
    expect(birthdayView({ ...summary, birthday: { set: true, text: "Ihr Geburtstag: 17. Mai" } })).toEqual({ text: "Ihr Geburtstag: 17. Mai", ask: false });
    expect(birthdayView({ ...summary, birthday: { set: false, text: "" } })).toBeNull();
  });
});

describe("order status and thank you", () => {
  const earned = parseOrderPoints({ points: 120, state: "earned", text: "Diese Bestellung hat 120 Punkte gebracht" })!;
  const reversed = parseOrderPoints({ points: 120, state: "reversed", text: "Storniert: Bestellung erstattet" })!;
  const pending = parseOrderPoints({ points: 1200, state: "pending", text: "1.200 Punkte, sobald die Bestellung bezahlt ist", claim: { text: "Erstellen Sie ein Konto", url: "https://shop.example/account/register" } })!;

  it("says earned, pending or reversed with the ledger's words and a tone to match", () => {
    expect(orderView(earned, fmt)).toEqual({ tone: "success", text: "Diese Bestellung hat 120 Punkte gebracht", points: "120" });
    expect(orderView(reversed, fmt)!.tone).toBe("warning");
    expect(orderView(pending, fmt)).toMatchObject({ tone: "info", points: "1.200" });
  });

  it("shows nothing for an order that earned nothing and has nothing to say", () => {
    expect(orderView(parseOrderPoints({ points: 0, state: "none", text: "" })!, fmt)).toBeNull();
    expect(orderView(parseOrderPoints({ points: 0, state: "none", text: "Gift cards earn no points" })!, fmt)).not.toBeNull();
  });

  it("offers the claim to a guest only", () => {
    expect(thankYouView(pending, fmt, false)!.claim).toEqual({ text: "Erstellen Sie ein Konto", url: "https://shop.example/account/register" });
    expect(thankYouView(pending, fmt, true)!.claim).toBeNull();
    expect(thankYouView(earned, fmt, false)!.claim).toBeNull();
  });
});

describe("POS", () => {
  it("shows balance and tier, and offers only rewards the customer can take", () => {
    const c = parsePosCustomer({ points: 2400, tier: "Gold", store_credit: "$5.00", rewards: [{ id: 1, name: "A", available: true }, { id: 2, name: "B", available: false }] })!;
    expect(posView(c, fmt)).toEqual({ points: "2.400", tier: "Gold", storeCredit: "$5.00", redeemable: [expect.objectContaining({ id: "1" })] });
  });
});

describe("POS reward labels", () => {
  it("name the cost in points when the backend gives only the number", () => {
    const c = parsePosCustomer({ points: 5000, rewards: [{ id: "a", name: "5 € Rabatt", cost: 1500, available: true }, { id: "b", name: "Gratis", cost_text: "200 Punkte", available: true }] })!;
    expect(posView(c, fmt, "Punkte").redeemable).toEqual([{ id: "a", label: "5 € Rabatt · 1.500 Punkte" }, { id: "b", label: "Gratis · 200 Punkte" }]);
  });
});

describe("failures", () => {
  const t = (k: string) => `[${k}]`;
  it("uses the backend's own (translated) refusal, else the extension's text", () => {
    expect(failureText({ ok: false, error: "rejected", message: "Premio esaurito" }, t, "redeem_error")).toBe("Premio esaurito");
    expect(failureText({ ok: false, error: "server", status: 500 }, t, "redeem_error")).toBe("[redeem_error]");
  });
  it("hides a block for a signed-out shopper or an unknown order, shows an error otherwise", () => {
    expect(["auth", "not_found", "server", "network", "shape", "rejected"].map((e) => hides(e as never))).toEqual([true, true, false, false, false, false]);
  });
});
