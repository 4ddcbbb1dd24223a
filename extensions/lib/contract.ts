/**
 * The backend's answers, as the extensions read them (the backend is the `ext-backend` work:
 * it verifies the session token with Shopify's helpers and knows the shop and the customer from
 * it, never from the request). Every text (`*_text`, `text`) is already rendered in the
 * shopper's language from `?locale=`; the extensions show it as it comes.
 *
 * The backend's own description of its answers: extensions/README.md ("Extension backend
 * contract"). Each parser returns null for an answer it cannot read (the UI then shows its own error text)
 * and drops list items it cannot read, so one odd row never hides the others.
 */
import { isRecord } from "./api";

export interface Reward {
  id: string;
  name: string;
  cost: number | null;      // points (POS answers give the number only)
  cost_text: string;
  value_text: string;
  available: boolean;
  reason_text: string;
}

export interface Activity {
  when_text: string;
  text: string;
  points_text: string;
}

/** A badge: earned (how often; 0 while in progress) and its progress in the shopper's words. */
export interface Badge {
  id: string;
  name: string;
  earned: number;
  text: string;             // "3 of 8 orders"
  percent: number;          // 0–100
  points_text: string;      // "Reward: 50 points", or empty
}

/** A challenge not ended yet. */
export interface Challenge {
  id: string;
  name: string;
  joined: boolean;          // false: an opt-in challenge the shopper has not joined (in the storefront's panel)
  text: string;             // "1 of 2 orders"
  percent: number;
  ends_text: string;        // "Until December 31, 2026"
  points_text: string;
}

/** GET /ext/customer-account/summary?locale= */
export interface Summary {
  points: number;
  pending_points: number;
  tier: { name: string; progress: string; percent: number | null } | null;
  store_credit: string | null;
  rewards: Reward[];
  referral: { link: string } | null;
  activity: Activity[];
  birthday: { set: boolean; text: string };
  badges: Badge[];
  challenges: Challenge[];
}

/** POST /ext/customer-account/redeem → the code the shopper uses at checkout. */
export interface Redemption {
  code: string;
  title: string;
  expires_at_text: string;
}

export type OrderState = "pending" | "earned" | "reversed" | "none";

/** GET /ext/customer-account/orders/<id>, GET /ext/checkout/orders/<id> */
export interface OrderPoints {
  points: number;
  state: OrderState;
  text: string;
  claim: { text: string; url: string } | null;
}

/** GET /ext/pos/customers/<id>. `rewards` is not in the first draft of the contract; the
 *  redeem modal needs it (POST /ext/pos/redeem takes a reward_id), so it is read when present. */
export interface PosCustomer {
  points: number;
  tier: string | null;
  store_credit: string | null;
  rewards: Reward[];
}

/** POST /ext/pos/redeem */
export interface PosRedemption {
  code: string;
  title: string;
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const text = (v: unknown): string => (typeof v === "string" ? v : "");
const int = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? Math.trunc(v) : null);

/** A display text given either as a string or as an object with a `text` (the backend's money:
 *  `{"amount": "12.50", "currency": "EUR", "text": "12,50 €"}`). */
const shown = (v: unknown): string | null =>
  typeof v === "string" ? v || null : isRecord(v) && typeof v.text === "string" && v.text ? v.text : null;

function list<T>(v: unknown, item: (x: unknown) => T | null): T[] {
  if (!Array.isArray(v)) return [];
  return v.map(item).filter((x): x is T => x !== null);
}

/** The way to the next tier, 0–100, when the backend gives it. */
function percent(v: unknown): number | null {
  const n = int(v);
  return n === null ? null : Math.min(100, Math.max(0, n));
}

/** Store credit to show: its text, unless the amount is zero (nothing to say). */
function nonZero(v: unknown): string | null {
  if (isRecord(v) && typeof v.amount === "string" && Number(v.amount) === 0) return null;
  return shown(v);
}

export function parseReward(v: unknown): Reward | null {
  if (!isRecord(v)) return null;
  const id = typeof v.id === "number" ? String(v.id) : str(v.id);
  const name = str(v.name);
  if (!id || !name) return null;
  return {
    id,
    name,
    cost: int(v.cost),
    cost_text: text(v.cost_text),
    value_text: text(v.value_text),
    available: v.available === true,
    reason_text: text(v.reason_text),
  };
}

function parseActivity(v: unknown): Activity | null {
  if (!isRecord(v) || typeof v.text !== "string") return null;
  return { when_text: text(v.when_text), text: v.text, points_text: text(v.points_text) };
}

function parseBadge(v: unknown): Badge | null {
  if (!isRecord(v) || typeof v.id !== "string" || typeof v.name !== "string" || !v.id || !v.name) return null;
  return { id: v.id, name: v.name, earned: Math.max(0, int(v.earned) ?? 0), text: text(v.text),
    percent: percent(v.percent) ?? 0, points_text: text(v.points_text) };
}

function parseChallenge(v: unknown): Challenge | null {
  if (!isRecord(v) || typeof v.id !== "string" || typeof v.name !== "string" || !v.id || !v.name) return null;
  return { id: v.id, name: v.name, joined: v.joined === true, text: text(v.text), percent: percent(v.percent) ?? 0,
    ends_text: text(v.ends_text), points_text: text(v.points_text) };
}

/** A link the shopper may be sent to: https only (the backend's own pages). */
export function safeUrl(v: unknown): string | null {
  if (typeof v !== "string") return null;
  try {
    return new URL(v).protocol === "https:" ? v : null;
  } catch {
    return null;
  }
}

export function parseSummary(v: unknown): Summary | null {
  if (!isRecord(v)) return null;
  const points = int(v.points);
  if (points === null) return null;
  const tier = isRecord(v.tier) && typeof v.tier.name === "string" && v.tier.name
    ? { name: v.tier.name, progress: text(v.tier.progress ?? v.tier.progress_text), percent: percent(v.tier.percent) }
    : null;
  const link = isRecord(v.referral) ? safeUrl(v.referral.link) : null;
  const birthday = isRecord(v.birthday) ? { set: v.birthday.set === true, text: text(v.birthday.text) } : { set: false, text: "" };
  return {
    points,
    pending_points: int(v.pending_points) ?? 0,
    tier,
    store_credit: nonZero(v.store_credit),
    rewards: list(v.rewards, parseReward),
    referral: link ? { link } : null,
    activity: list(v.activity, parseActivity),
    birthday,
    badges: list(v.badges, parseBadge),
    challenges: list(v.challenges, parseChallenge),
  };
}

export function parseRedemption(v: unknown): Redemption | null {
  if (!isRecord(v) || typeof v.code !== "string" || !v.code) return null;
  return { code: v.code, title: text(v.title), expires_at_text: text(v.expires_at_text) };
}

const STATES: readonly OrderState[] = ["pending", "earned", "reversed", "none"];

export function parseOrderPoints(v: unknown): OrderPoints | null {
  if (!isRecord(v)) return null;
  const points = int(v.points);
  const state = STATES.find((s) => s === v.state);
  if (points === null || !state) return null;
  const url = isRecord(v.claim) ? safeUrl(v.claim.url ?? v.claim.signup_url) : null;
  const claim = url && isRecord(v.claim) && typeof v.claim.text === "string" ? { text: v.claim.text, url } : null;
  return { points, state, text: text(v.text), claim };
}

export function parsePosCustomer(v: unknown): PosCustomer | null {
  if (!isRecord(v)) return null;
  const points = int(v.points);
  if (points === null) return null;
  const tier = typeof v.tier === "string" ? v.tier : isRecord(v.tier) && typeof v.tier.name === "string" ? v.tier.name : null;
  return { points, tier: tier || null, store_credit: nonZero(v.store_credit), rewards: list(v.rewards, parseReward) };
}

export function parsePosRedemption(v: unknown): PosRedemption | null {
  if (!isRecord(v) || typeof v.code !== "string" || !v.code) return null;
  return { code: v.code, title: text(v.title) };
}

/** An answer whose body does not matter (POST /ext/customer-account/birthday): any 2xx. */
export const parseAny = (_v: unknown): true => true;
