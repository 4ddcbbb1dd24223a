/**
 * Thank you page block (purchase.thank-you.block.render, all plans): the points this order
 * earned (or will, once paid) in the backend's words and, for a guest, how to claim them by
 * creating an account (the backend's link). The order is `shopify.orderConfirmation`
 * (an OrderIdentity GID whose number is the order id):
 *   https://shopify.dev/docs/api/checkout-ui-extensions/latest/targets/thank-you/block
 * The checkout's subtotal goes along (`shopify.cost.subtotalAmount`): the order's webhook often
 * arrives after this page renders, and the backend then answers an estimate from it.
 * A signed-in buyer is `shopify.buyerIdentity.customer` (needs protected customer data access;
 * without it the backend, which reads the token's `sub`, decides alone whether to offer a claim).
 */
import "@shopify/ui-extensions/preact";
import { render } from "preact";

import { numericId, request, retrying } from "../../lib/api";
import { PATHS } from "../../lib/config";
import { parseOrderPoints } from "../../lib/contract";
import { useResult } from "../../lib/hooks";
import { hides, thankYouView } from "../../lib/view";

export default async () => {
  render(<ThankYouBlock />, document.body);
};

function ThankYouBlock() {
  const t = (key: string) => String(shopify.i18n.translate(key));
  const locale = shopify.localization.language.value.isoCode;
  const orderId = numericId(shopify.orderConfirmation.value.order.id);
  const signedIn = Boolean(shopify.buyerIdentity?.customer.value?.id);
  const subtotal = shopify.cost.subtotalAmount.value;
  const [result] = useResult(
    async () =>
      orderId
        ? retrying(() => request(PATHS.checkoutOrder(orderId, subtotal), { token: () => shopify.sessionToken.get(), parse: parseOrderPoints, locale }))
        : { ok: false as const, error: "not_found" as const },
    [orderId, locale, subtotal?.amount],
  );
  if (!result) return <s-skeleton-paragraph />;
  if (!result.ok) {
    if (hides(result.error)) return null;
    return (
      <s-banner tone="info" heading={t("heading")}>
        <s-paragraph>{t("error")}</s-paragraph>
      </s-banner>
    );
  }
  const v = thankYouView(result.data, (n) => shopify.i18n.formatNumber(n), signedIn);
  if (!v) return null;
  return (
    <s-banner tone={v.tone} heading={t("heading")}>
      <s-stack gap="small-200">
        <s-paragraph>{v.text}</s-paragraph>
        {v.claim && (
          <>
            <s-paragraph>{v.claim.text}</s-paragraph>
            <s-button href={v.claim.url} target="_blank" variant="primary">{t("create_account")}</s-button>
          </>
        )}
      </s-stack>
    </s-banner>
  );
}
