/**
 * Order status page block (customer-account.order-status.block.render): "this order earned N
 * points", pending or reversed, and why, in the ledger's own words (the backend renders the
 * text). The order comes from the target's Order API (`shopify.order`):
 *   https://shopify.dev/docs/api/customer-account-ui-extensions/2026-07-rc/targets
 * Nothing is rendered for an order the program does not know or that earned nothing.
 */
import "@shopify/ui-extensions/preact";
import { render } from "preact";

import { numericId, request } from "../../lib/api";
import { PATHS } from "../../lib/config";
import { parseOrderPoints } from "../../lib/contract";
import { useResult } from "../../lib/hooks";
import { hides, orderView } from "../../lib/view";

export default async () => {
  render(<OrderStatusBlock />, document.body);
};

function OrderStatusBlock() {
  const t = (key: string) => String(shopify.i18n.translate(key));
  const locale = shopify.localization.language.value.isoCode;
  const orderId = numericId(shopify.order.value?.id);
  const [result] = useResult(
    async () =>
      orderId
        ? request(PATHS.accountOrder(orderId), { token: () => shopify.sessionToken.get(), parse: parseOrderPoints, locale })
        : { ok: false as const, error: "not_found" as const },
    [orderId, locale],
  );
  if (!result) return <s-skeleton-paragraph />;
  if (!result.ok) {
    if (hides(result.error)) return null;
    return (
      <s-banner tone="warning" heading={t("order_heading")}>
        <s-paragraph>{t("order_error")}</s-paragraph>
      </s-banner>
    );
  }
  const v = orderView(result.data, (n) => shopify.i18n.formatNumber(n));
  if (!v) return null;
  return (
    <s-banner tone={v.tone} heading={t("order_heading")}>
      <s-paragraph>{v.text}</s-paragraph>
    </s-banner>
  );
}
