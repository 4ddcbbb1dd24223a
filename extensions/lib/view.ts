/**
 * What each block shows, as plain data: the components only lay it out. Numbers are formatted
 * by the surface's own `i18n.formatNumber` (passed in), texts come from the backend already in
 * the shopper's language, and labels are the extension's own (locales/*.json).
 */
import type { Failure, Result } from "./api";
import type { Badge, Challenge, OrderPoints, OrderState, PosCustomer, Reward, Summary } from "./contract";

export type Format = (n: number) => string;
export type Tone = "success" | "info" | "warning" | "critical";

export interface ProfileView {
  points: string;
  pending: string | null;       // shown only when some points are still pending
  tier: Summary["tier"];
  storeCredit: string | null;
  rewards: Reward[];            // the rewards the shopper can take now
  referralLink: string | null;
  badges: Badge[];              // earned first, then those in progress
  challenges: Challenge[];      // those the shopper takes part in first
}

export function profileView(s: Summary, format: Format): ProfileView {
  return {
    points: format(s.points),
    pending: s.pending_points > 0 ? format(s.pending_points) : null,
    tier: s.tier,
    storeCredit: s.store_credit,
    rewards: s.rewards.filter((r) => r.available),
    referralLink: s.referral?.link ?? null,
    badges: [...s.badges.filter((b) => b.earned > 0), ...s.badges.filter((b) => b.earned === 0)],
    challenges: [...s.challenges.filter((c) => c.joined), ...s.challenges.filter((c) => !c.joined)],
  };
}

/** The Rewards page's birthday section: shown when the birthday is given (its text) or the
 *  program asks for it (the invitation); the backend sends no text when there is no birthday
 *  bonus, and then the section is not shown. The field only while it is not given. */
export function birthdayView(s: Summary): { text: string; ask: boolean } | null {
  if (!s.birthday.set && !s.birthday.text) return null;
  return { text: s.birthday.text, ask: !s.birthday.set };
}

export interface RewardRow {
  reward: Reward;
  canRedeem: boolean;
  note: string;   // why not, when the shopper cannot take it (the backend's reason)
}

/** The Rewards page lists every reward: those the shopper can take first, each other one with
 *  the backend's reason ("120 more points", "Gold tier and above"). */
export function rewardRows(s: Summary): RewardRow[] {
  const rows = s.rewards.map((reward) => ({ reward, canRedeem: reward.available, note: reward.available ? "" : reward.reason_text }));
  return [...rows.filter((r) => r.canRedeem), ...rows.filter((r) => !r.canRedeem)];
}

export interface OrderView {
  tone: Tone;
  text: string;      // the ledger's own explanation ("This order earned 120 points", "… reversed: refunded")
  points: string;
}

const TONES: Record<OrderState, Tone> = { earned: "success", pending: "info", reversed: "warning", none: "info" };

/** null: nothing to show (the order earned nothing and the backend has nothing to say). */
export function orderView(o: OrderPoints, format: Format): OrderView | null {
  if (o.state === "none" && !o.text) return null;
  return { tone: TONES[o.state], text: o.text, points: format(o.points) };
}

export interface ThankYouView extends OrderView {
  claim: { text: string; url: string } | null;
}

/** The claim ("create an account to keep these points") only for a guest: a signed-in buyer's
 *  points are already theirs, whatever the answer says. */
export function thankYouView(o: OrderPoints, format: Format, signedIn: boolean): ThankYouView | null {
  const base = orderView(o, format);
  if (!base) return null;
  return { ...base, claim: signedIn ? null : o.claim };
}

export interface PosView {
  points: string;
  tier: string | null;
  storeCredit: string | null;
  redeemable: { id: string; label: string }[];
}

/** `pointsLabel` is the extension's own word ("Points"): POS rewards come with their cost as a
 *  number only. */
export function posView(c: PosCustomer, format: Format, pointsLabel = ""): PosView {
  const cost = (r: Reward) => r.cost_text || (r.cost !== null ? `${format(r.cost)} ${pointsLabel}`.trim() : "");
  return {
    points: format(c.points),
    tier: c.tier,
    storeCredit: c.store_credit,
    redeemable: c.rewards.filter((r) => r.available).map((r) => ({ id: r.id, label: [r.name, cost(r)].filter(Boolean).join(" · ") })),
  };
}

/** The extension's own text for a failure (a key in locales/*.json), or the backend's message
 *  when it refused the request with one (already in the shopper's language). */
export function failureText(r: Extract<Result<unknown>, { ok: false }>, translate: (key: string) => string, key: string): string {
  return r.error === "rejected" && r.message ? r.message : translate(key);
}

/** Blocks hide themselves (render nothing) rather than show an error where the shopper did not
 *  ask for anything: no token (signed out), or the backend does not know the order. */
export function hides(error: Failure): boolean {
  return error === "auth" || error === "not_found";
}
