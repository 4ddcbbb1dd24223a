import { describe, expect, it } from "vitest";

import { Attempts, birthdayValue } from "../lib/redeem";

describe("redeem attempts", () => {
  it("reuses the key while the outcome is unknown, and starts afresh once it is known", () => {
    let n = 0;
    const a = new Attempts(() => `k${++n}`);
    const first = a.key("r1");
    a.settle("r1", { ok: false, error: "network" });
    expect(a.key("r1")).toBe(first);          // a retry after no answer is the same redeem
    a.settle("r1", { ok: false, error: "server", status: 502 });
    expect(a.key("r1")).toBe(first);
    a.settle("r1", { ok: true, data: { code: "X" } });
    expect(a.key("r1")).not.toBe(first);      // the next redeem is a new one
    const second = a.key("r1");
    a.settle("r1", { ok: false, error: "rejected", status: 409 });
    expect(a.key("r1")).not.toBe(second);
    expect(a.key("r2")).not.toBe(a.key("r1")); // each reward its own
  });
});

describe("birthday", () => {
  const today = new Date(Date.UTC(2026, 10, 30));
  it("takes a real past date as YYYY-MM-DD", () => {
    expect(birthdayValue("1990-03-14", today)).toBe("1990-03-14");
    expect(birthdayValue(" 2000-02-29 ", today)).toBe("2000-02-29");
  });
  it("refuses impossible, future or malformed dates", () => {
    for (const bad of ["1990-02-30", "2001-02-29", "2030-01-01", "1899-12-31", "14/03/1990", "", "1990-3-14"]) expect(birthdayValue(bad, today)).toBeNull();
  });
});
