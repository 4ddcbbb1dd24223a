/**
 * The one way the extensions talk to the backend: every request carries the session token that
 * Shopify issued for this surface (`Authorization: Bearer <token>`), the shopper's language when
 * there are texts to render, and answers come back as a Result, never a thrown error, so each
 * block can show a calm message instead of breaking the page.
 *
 * Session tokens: "You should call this method every time you need to make a request to your
 * backend in order to get a valid token. This method will return cached tokens when possible"
 * (https://shopify.dev/docs/api/customer-account-ui-extensions/latest/target-apis/platform-apis/session-token-api).
 * Customer accounts and checkout: `shopify.sessionToken.get()`; POS: `shopify.session.getSessionToken()`
 * (https://shopify.dev/docs/api/pos-ui-extensions/latest/target-apis/platform-apis/session-api).
 */
import { APP_URL } from "./config";

export type TokenSource = () => Promise<string | undefined | null>;

/** Why a request failed, as the UI needs to know it:
 *  - "auth": no token, or the backend refused it (401/403): nothing about the shopper is shown;
 *  - "not_found": the backend does not know the order or customer (404);
 *  - "rejected": the backend refused the request itself (other 4xx, e.g. a reward no longer
 *    available, a bad birthday); `message` is the backend's text for the shopper, already in
 *    their language, when it gives one;
 *  - "server": 5xx; "network": no answer at all; "shape": an answer we cannot read. */
export type Failure = "auth" | "not_found" | "rejected" | "server" | "network" | "shape";

export type Result<T> =
  | { ok: true; data: T }
  | { ok: false; error: Failure; status?: number; code?: string; message?: string };

export interface RequestOptions<T> {
  token: TokenSource;
  parse: (json: unknown) => T | null;
  method?: "GET" | "POST";
  body?: Record<string, unknown>;
  locale?: string | null;
  fetchImpl?: typeof fetch;
  base?: string;
}

export function url(path: string, locale?: string | null, base: string = APP_URL): string {
  const u = base.replace(/\/+$/, "") + path;
  return locale ? `${u}${u.includes("?") ? "&" : "?"}locale=${encodeURIComponent(locale)}` : u;
}

export async function request<T>(path: string, opts: RequestOptions<T>): Promise<Result<T>> {
  let token: string | undefined | null;
  try {
    token = await opts.token();
  } catch {
    token = null;
  }
  if (!token) return { ok: false, error: "auth" };
  const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: "application/json" };
  if (opts.body) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await (opts.fetchImpl ?? fetch)(url(path, opts.locale, opts.base), {
      method: opts.method ?? (opts.body ? "POST" : "GET"),
      headers,
      body: opts.body ? JSON.stringify(opts.body) : undefined,
    });
  } catch {
    return { ok: false, error: "network" };
  }
  let json: unknown = null;
  try {
    json = await response.json();
  } catch {
    json = null;
  }
  if (!response.ok) {
    const status = response.status;
    const error: Failure =
      status === 401 || status === 403 ? "auth" : status === 404 ? "not_found" : status >= 500 ? "server" : "rejected";
    const { message, code } = refusal(json);
    return {
      ok: false, error, status,
      ...(code ? { code } : {}),
      ...(message && error === "rejected" ? { message } : {}),
    };
  }
  const data = opts.parse(json);
  return data === null ? { ok: false, error: "shape", status: response.status } : { ok: true, data };
}

/** The backend's errors are `{"error": {"code", "message", "text"?}}` (plugin_app/http/errors.py):
 *  `message` is for developers, in English, and is never shown; `text`, when present, is the
 *  sentence for the shopper in their language. A plain `{"error": "<text>"}` counts as `text`. */
function refusal(json: unknown): { message?: string; code?: string } {
  if (!isRecord(json)) return {};
  const e = json.error;
  if (typeof e === "string") return { message: e };
  if (!isRecord(e)) return {};
  return {
    message: typeof e.text === "string" && e.text ? e.text : undefined,
    code: typeof e.code === "string" ? e.code : undefined,
  };
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A key that makes a retried redeem (a double tap, a lost answer) hold the points once: the
 *  backend keeps the first answer for a key. Made once per attempt the shopper starts. */
export function idempotencyKey(random: () => number = Math.random): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID && random === Math.random) return c.randomUUID();
  let s = "";
  for (let i = 0; i < 32; i++) s += Math.floor(random() * 16).toString(16);
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/** The numeric id at the end of a Shopify GID ("gid://shopify/Order/123" → "123"); the
 *  backend keys orders and customers by Shopify's numeric ids, as its webhooks name them.
 *  The Thank you page gives an OrderIdentity GID, whose number is the order's id. */
export function numericId(id: string | number | null | undefined): string | null {
  if (typeof id === "number") return Number.isSafeInteger(id) && id > 0 ? String(id) : null;
  if (typeof id !== "string") return null;
  const m = /^(?:gid:\/\/shopify\/[A-Za-z]+\/)?(\d+)(?:\?.*)?$/.exec(id.trim());
  return m ? m[1] : null;
}

/** On the Thank you page the order's webhook may not have reached the backend yet: ask again
 *  after each delay while the answer is "not found" (or no answer at all), then give up. */
export async function retrying<T>(
  load: () => Promise<Result<T>>,
  delays: number[] = [1500, 3000, 6000],
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<Result<T>> {
  let r = await load();
  for (const ms of delays) {
    if (r.ok || (r.error !== "not_found" && r.error !== "network")) break;
    await sleep(ms);
    r = await load();
  }
  return r;
}
