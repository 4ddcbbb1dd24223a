/**
 * Where the extensions find the app's backend: the one place that names it.
 *
 * UI extensions run in a sandbox on Shopify's pages and call the app's server with `fetch`
 * (the `network_access` capability) and a session token as a Bearer token; Shopify's own examples
 * name the server's origin in the extension's code:
 *   https://shopify.dev/docs/api/customer-account-ui-extensions/latest/target-apis/platform-apis/session-token-api
 *   https://shopify.dev/docs/apps/build/customer-accounts/capabilities (network access)
 * There is no build-time variable the Shopify CLI passes in, so this is the origin of
 * `application_url` in the repository's shopify.app.toml; test/config.test.ts fails when the two
 * differ. A deployment changes both (its own URL) before `shopify app deploy`.
 * The backend answers CORS for any origin (UI extensions run in a web worker with a null origin).
 */
export const APP_URL = "https://loyalty.example.com";

/** The backend's paths (see the contract in lib/contract.ts). */
export const PATHS = {
  summary: "/ext/customer-account/summary",
  redeem: "/ext/customer-account/redeem",
  birthday: "/ext/customer-account/birthday",
  accountOrder: (orderId: string) => `/ext/customer-account/orders/${encodeURIComponent(orderId)}`,
  checkoutOrder: (orderId: string, subtotal?: { amount: number; currencyCode: string } | null) =>
    `/ext/checkout/orders/${encodeURIComponent(orderId)}` +
    (subtotal && Number.isFinite(subtotal.amount) && /^[A-Z]{3}$/.test(subtotal.currencyCode)
      ? `?subtotal=${subtotal.amount.toFixed(2)}&currency=${subtotal.currencyCode}`
      : ""),
  posCustomer: (customerId: string) => `/ext/pos/customers/${encodeURIComponent(customerId)}`,
  posRedeem: "/ext/pos/redeem",
} as const;
