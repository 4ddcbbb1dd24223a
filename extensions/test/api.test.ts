import { describe, expect, it, vi } from "vitest";

import { idempotencyKey, numericId, request, retrying, url, type Result } from "../lib/api";
import { APP_URL, PATHS } from "../lib/config";
import { parseAny, parseSummary } from "../lib/contract";

type Call = { url: string; init: RequestInit };

function fakeFetch(status: number, body: unknown, calls: Call[] = []): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(input), init: init ?? {} });
    const text = typeof body === "string" ? body : JSON.stringify(body);
    return new Response(text, { status, headers: { "Content-Type": "application/json" } });
  }) as typeof fetch;
}

const summary = { points: 1200, pending_points: 0, tier: { name: "Gold", progress: "300 points to Platinum" }, rewards: [], activity: [] };

describe("request", () => {
  it("sends the session token as a Bearer token, the locale, and reads the answer", async () => {
    const calls: Call[] = [];
    const r = await request(PATHS.summary, { token: async () => "tok.en.sig", parse: parseSummary, locale: "it-IT", fetchImpl: fakeFetch(200, summary, calls) });
    expect(r.ok && r.data.points).toBe(1200);
    expect(calls).toHaveLength(1);
    expect(calls[0].url).toBe(`${APP_URL}/ext/customer-account/summary?locale=it-IT`);
    const headers = calls[0].init.headers as Record<string, string>;
    expect(headers.Authorization).toBe("Bearer tok.en.sig");
    expect(calls[0].init.method).toBe("GET");
    expect(calls[0].init.body).toBeUndefined();
  });

  it("posts a JSON body", async () => {
    const calls: Call[] = [];
    await request(PATHS.redeem, { token: async () => "t", parse: parseAny, body: { reward_id: "r1", idempotency_key: "k" }, fetchImpl: fakeFetch(200, {}, calls) });
    expect(calls[0].init.method).toBe("POST");
    expect(JSON.parse(String(calls[0].init.body))).toEqual({ reward_id: "r1", idempotency_key: "k" });
    expect((calls[0].init.headers as Record<string, string>)["Content-Type"]).toBe("application/json");
  });

  it("asks nothing without a token (a signed-out shopper) and says so", async () => {
    for (const token of [async () => undefined, async () => "", async () => { throw new Error("no session"); }]) {
      const fetchImpl = vi.fn();
      const r = await request(PATHS.summary, { token, parse: parseSummary, fetchImpl: fetchImpl as unknown as typeof fetch });
      expect(r).toEqual({ ok: false, error: "auth" });
      expect(fetchImpl).not.toHaveBeenCalled();
    }
  });

  it.each([
    [401, { error: "bad token" }, { ok: false, error: "auth", status: 401 }],
    [403, {}, { ok: false, error: "auth", status: 403 }],
    [404, {}, { ok: false, error: "not_found", status: 404 }],
    [409, { error: "Questo premio non è più disponibile." }, { ok: false, error: "rejected", status: 409, message: "Questo premio non è più disponibile." }],
    [409, { error: { code: "reward_unavailable", message: "reward 7 is not available", text: "Questo premio non è più disponibile." } },
      { ok: false, error: "rejected", status: 409, code: "reward_unavailable", message: "Questo premio non è più disponibile." }],
    [422, { error: { code: "invalid", message: "birthday: not a date" } }, { ok: false, error: "rejected", status: 422, code: "invalid" }],
    [401, { error: { code: "unauthorized", message: "bad token" } }, { ok: false, error: "auth", status: 401, code: "unauthorized" }],
    [422, "not json", { ok: false, error: "rejected", status: 422 }],
    [500, {}, { ok: false, error: "server", status: 500 }],
    [200, "<html>", { ok: false, error: "shape", status: 200 }],
    [200, { points: "many" }, { ok: false, error: "shape", status: 200 }],
  ])("status %i → a failure the UI can tell apart", async (status, body, expected) => {
    const r = await request(PATHS.summary, { token: async () => "t", parse: parseSummary, fetchImpl: fakeFetch(status, body) });
    expect(r).toEqual(expected);
  });

  it("no answer at all is a network failure, not a thrown error", async () => {
    const fetchImpl = (async () => { throw new TypeError("Failed to fetch"); }) as unknown as typeof fetch;
    expect(await request(PATHS.summary, { token: async () => "t", parse: parseSummary, fetchImpl })).toEqual({ ok: false, error: "network" });
  });
});

describe("paths and ids", () => {
  it("builds URLs on the configured origin, escaping ids", () => {
    expect(url("/ext/x", null, "https://a.example/")).toBe("https://a.example/ext/x");
    expect(url("/ext/x?a=1", "de", "https://a.example")).toBe("https://a.example/ext/x?a=1&locale=de");
    expect(PATHS.accountOrder("12/../3")).toBe("/ext/customer-account/orders/12%2F..%2F3");
    expect(PATHS.posCustomer("42")).toBe("/ext/pos/customers/42");
    expect(PATHS.checkoutOrder("5003", { amount: 80, currencyCode: "EUR" })).toBe("/ext/checkout/orders/5003?subtotal=80.00&currency=EUR");
    expect(PATHS.checkoutOrder("5003", null)).toBe("/ext/checkout/orders/5003");
    expect(url(PATHS.checkoutOrder("5003", { amount: 19.9, currencyCode: "USD" }), "de", "https://a.example")).toBe("https://a.example/ext/checkout/orders/5003?subtotal=19.90&currency=USD&locale=de");
  });

  it("takes Shopify's numeric id out of a GID", () => {
    expect(numericId("gid://shopify/Order/5550001")).toBe("5550001");
    expect(numericId("gid://shopify/OrderIdentity/5550001")).toBe("5550001");
    expect(numericId(987)).toBe("987");
    expect(numericId("123")).toBe("123");
    for (const bad of ["gid://shopify/Order/", "abc", "", null, undefined, -1, 1.5, "gid://shopify/Order/1/2"]) expect(numericId(bad as never)).toBeNull();
  });

  it("makes a fresh UUID-shaped idempotency key each time", () => {
    const a = idempotencyKey();
    const b = idempotencyKey();
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
    let i = 0;
    expect(idempotencyKey(() => (i++ % 16) / 16)).toBe("01234567-89ab-cdef-0123-456789abcdef");
  });
});

describe("retrying (the Thank you page, before the order's webhook arrived)", () => {
  const answers = (...rs: Result<number>[]) => {
    let i = 0;
    return vi.fn(async () => rs[Math.min(i++, rs.length - 1)]);
  };
  const sleep = vi.fn(async () => {});

  it("asks again while the order is unknown, then takes the answer", async () => {
    const load = answers({ ok: false, error: "not_found" }, { ok: false, error: "network" }, { ok: true, data: 7 });
    expect(await retrying(load, [1, 2, 3], sleep)).toEqual({ ok: true, data: 7 });
    expect(load).toHaveBeenCalledTimes(3);
  });

  it("gives up after the last delay, and never retries a refusal", async () => {
    const unknown = answers({ ok: false, error: "not_found" });
    expect(await retrying(unknown, [1, 2], sleep)).toEqual({ ok: false, error: "not_found" });
    expect(unknown).toHaveBeenCalledTimes(3);
    const refused = answers({ ok: false, error: "auth" });
    await retrying(refused, [1, 2], sleep);
    expect(refused).toHaveBeenCalledTimes(1);
  });
});
