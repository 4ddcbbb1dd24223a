/** The example answers in extensions/README.md ("Extension backend contract", written with the
 *  backend) are read by the extensions' parsers: a change of shape on either side shows here. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

import { parseOrderPoints, parsePosCustomer, parsePosRedemption, parseRedemption, parseSummary } from "../lib/contract";
import { orderView, posView, profileView, thankYouView } from "../lib/view";

const doc = readFileSync(resolve(__dirname, "..", "README.md"), "utf8");
const contract = doc.slice(doc.indexOf("Extension backend contract"));

/** The JSON examples under the heading that names a route, in order. */
function examples(route: string): unknown[] {
  const at = contract.indexOf(`\`${route}`);
  expect(at, route).toBeGreaterThan(0);
  const next = contract.indexOf("\n#### ", at + 1);
  const section = contract.slice(at, next < 0 ? undefined : next);
  return [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]));
}
const fmt = (n: number) => String(n);

describe("the documented answers", () => {
  it("summary → the profile block and the Rewards page", () => {
    const [answer] = examples("GET /ext/customer-account/summary");
    const s = parseSummary(answer)!;
    expect(s).not.toBeNull();
    const v = profileView(s, fmt);
    expect(v.points).toBe(String((answer as { points: number }).points));
    expect(s.tier?.progress).toBeTruthy();
    expect(s.rewards.length).toBeGreaterThan(0);
    expect(s.referral?.link).toMatch(/^https:/);
    expect(s.activity.every((a) => a.text && a.points_text)).toBe(true);
    expect(v.badges.length).toBeGreaterThan(0);
    expect(v.badges.every((b) => b.name && b.text)).toBe(true);
    expect(v.challenges.every((c) => c.name && c.text && c.ends_text)).toBe(true);
  });

  it("redeem → the code", () => {
    const [answer] = examples("POST /ext/customer-account/redeem");
    expect(parseRedemption(answer)).toMatchObject({ code: expect.stringMatching(/\S/), expires_at_text: expect.stringMatching(/\S/) });
  });

  it("order status → the block's text", () => {
    for (const answer of examples("GET /ext/customer-account/orders/")) {
      const o = parseOrderPoints(answer)!;
      expect(o).not.toBeNull();
      expect(orderView(o, fmt)?.text).toBeTruthy();
    }
  });

  it("thank you → the points, and a guest's claim", () => {
    const answers = examples("GET /ext/checkout/orders/").map((a) => parseOrderPoints(a)!);
    expect(answers.length).toBeGreaterThanOrEqual(2);
    expect(answers.every(Boolean)).toBe(true);
    const guest = answers.find((a) => a.claim);
    expect(guest, "a documented guest answer with a claim").toBeTruthy();
    expect(thankYouView(guest!, fmt, false)!.claim!.url).toMatch(/^https:/);
  });

  it("POS customer → the block and the rewards to redeem", () => {
    const [answer] = examples("GET /ext/pos/customers/");
    const c = parsePosCustomer(answer)!;
    expect(c).not.toBeNull();
    expect(posView(c, fmt, "points").redeemable.length).toBeGreaterThan(0);
    expect(c.tier).toBeTruthy();
    expect(parsePosRedemption(examples("POST /ext/customer-account/redeem")[0])).not.toBeNull(); // "same answer"
  });
});
