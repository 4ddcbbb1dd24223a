/**
 * Redeeming holds points, so a retry must not hold them twice: each attempt has an idempotency
 * key, kept while the outcome is unknown (no answer, a 5xx, an unreadable answer: the backend
 * may have held the points) and reused when the shopper or the staff tries again; dropped once
 * the backend has answered for sure (a code, or a refusal), so the next redeem is a new one.
 */
import { idempotencyKey, type Result } from "./api";

export class Attempts {
  private keys = new Map<string, string>();
  constructor(private readonly make: () => string = () => idempotencyKey()) {}

  key(id: string): string {
    let k = this.keys.get(id);
    if (!k) {
      k = this.make();
      this.keys.set(id, k);
    }
    return k;
  }

  settle(id: string, result: Result<unknown>): void {
    if (result.ok || result.error === "rejected" || result.error === "auth" || result.error === "not_found") this.keys.delete(id);
  }
}

/** The birthday as the backend takes it: an ISO date (YYYY-MM-DD) that exists and is not in the
 *  future; null for anything else (the field then shows the extension's own error). */
export function birthdayValue(value: string, today: Date = new Date()): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  if (y < 1900 || date.getTime() > today.getTime()) return null;
  return m[0];
}
