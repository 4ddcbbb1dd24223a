/**
 * POS customer details block (pos.customer-details.block.render): the customer's points, tier
 * and store credit, with a "Redeem points" action that opens the redeem modal
 * (`shopify.action.presentModal()`, the pos.customer-details.action.render target of this
 * extension): https://shopify.dev/docs/api/pos-ui-extensions/targets/customer-details/pos-customer-details-block-render
 * POS requests carry the POS session token (`shopify.session.getSessionToken()`); the backend
 * knows the shop from it and checks the customer id in the path against the shop.
 */
import "@shopify/ui-extensions/preact";
import { render } from "preact";

import { request } from "../../lib/api";
import { PATHS } from "../../lib/config";
import { parsePosCustomer } from "../../lib/contract";
import { useResult } from "../../lib/hooks";
import { posView } from "../../lib/view";

export default async () => {
  render(<CustomerBlock />, document.body);
};

function CustomerBlock() {
  const t = (key: string) => String(shopify.i18n.translate(key));
  const customerId = String(shopify.customer.id);
  const [result, reload] = useResult(
    () => request(PATHS.posCustomer(customerId), {
      token: () => shopify.session.getSessionToken(), parse: parsePosCustomer, locale: shopify.locale.current.value,
    }),
    [customerId],
  );
  if (!result) {
    return (
      <s-pos-block heading={t("heading")}>
        <s-text>{t("loading")}</s-text>
      </s-pos-block>
    );
  }
  if (!result.ok) {
    return (
      <s-pos-block heading={t("heading")}>
        <s-text tone="critical">{t("error")}</s-text>
        <s-button slot="secondary-actions" onClick={reload}>{t("retry")}</s-button>
      </s-pos-block>
    );
  }
  const v = posView(result.data, (n) => shopify.i18n.formatNumber(n));
  return (
    <s-pos-block heading={t("heading")}>
      <s-stack gap="small-200">
        <s-text>{`${t("points")}: ${v.points}`}</s-text>
        {v.tier && <s-text>{`${t("tier")}: ${v.tier}`}</s-text>}
        {v.storeCredit && <s-text>{`${t("store_credit")}: ${v.storeCredit}`}</s-text>}
      </s-stack>
      <s-button slot="secondary-actions" onClick={() => shopify.action.presentModal()}>{t("redeem_action")}</s-button>
    </s-pos-block>
  );
}
