/**
 * POS redeem modal (pos.customer-details.action.render, opened from the customer block): the
 * staff picks a reward the customer can take; the backend holds the points and answers with a
 * discount code, shown large for the staff, which the modal can also apply to the cart
 * (`shopify.cart.addCartCodeDiscount`). The in-store order that uses the code commits the hold,
 * like an online one. https://shopify.dev/docs/api/pos-ui-extensions/2025-10-rc/targets/action/pos-customer-details-action-render
 */
import "@shopify/ui-extensions/preact";
import { render } from "preact";
import { useRef, useState } from "preact/hooks";

import { request, type Result } from "../../lib/api";
import { PATHS } from "../../lib/config";
import { parsePosCustomer, parsePosRedemption, type PosRedemption } from "../../lib/contract";
import { useResult } from "../../lib/hooks";
import { Attempts } from "../../lib/redeem";
import { failureText, posView } from "../../lib/view";

export default async () => {
  render(<RedeemModal />, document.body);
};

function RedeemModal() {
  const t = (key: string) => String(shopify.i18n.translate(key));
  const token = () => shopify.session.getSessionToken();
  const locale = shopify.locale.current.value;
  const customerId = String(shopify.customer.id);
  const attempts = useRef(new Attempts()).current;
  const [busy, setBusy] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Result<PosRedemption> | null>(null);
  const [applied, setApplied] = useState<"no" | "yes" | "failed">("no");
  const [result, reload] = useResult(
    () => request(PATHS.posCustomer(customerId), { token, parse: parsePosCustomer, locale }),
    [customerId],
  );

  async function redeem(rewardId: string) {
    setBusy(rewardId);
    setOutcome(null);
    setApplied("no");
    const r = await request(PATHS.posRedeem, {
      token, parse: parsePosRedemption, locale,
      body: { customer_id: customerId, reward_id: rewardId, idempotency_key: attempts.key(rewardId) },
    });
    attempts.settle(rewardId, r);
    setBusy(null);
    setOutcome(r);
    if (r.ok) reload();
  }

  async function apply(code: string) {
    try {
      await shopify.cart.addCartCodeDiscount(code);
      setApplied("yes");
      shopify.toast.show(t("applied"));
    } catch {
      setApplied("failed");
    }
  }

  return (
    <s-page heading={t("redeem_action")}>
      <s-scroll-box>
        <s-stack gap="base">
          {outcome?.ok && (
            <s-section heading={outcome.data.title || t("code")}>
              <s-stack gap="small-200">
                <s-text>{t("code")}</s-text>
                <s-heading>{outcome.data.code}</s-heading>
                {applied === "yes" ? (
                  <s-text tone="success">{t("applied")}</s-text>
                ) : (
                  <s-button variant="primary" onClick={() => apply(outcome.data.code)}>{t("apply")}</s-button>
                )}
                {applied === "failed" && <s-text tone="critical">{t("apply_error")}</s-text>}
              </s-stack>
            </s-section>
          )}
          {outcome && !outcome.ok && <s-banner tone="critical" heading={failureText(outcome, t, "redeem_error")} />}
          {!result && <s-text>{t("loading")}</s-text>}
          {result && !result.ok && <s-banner tone="critical" heading={t("error")} />}
          {result?.ok && (
            <Choices rewards={posView(result.data, (n) => shopify.i18n.formatNumber(n), t("points")).redeemable} busy={busy} onRedeem={redeem} t={t} />
          )}
        </s-stack>
      </s-scroll-box>
    </s-page>
  );
}

function Choices(props: {
  rewards: ReturnType<typeof posView>["redeemable"];
  busy: string | null;
  onRedeem: (id: string) => void;
  t: (key: string) => string;
}) {
  const { rewards, busy, onRedeem, t } = props;
  return (
    <s-section heading={t("choose_reward")}>
      <s-stack gap="small-200">
        {rewards.length === 0 && <s-text>{t("no_rewards")}</s-text>}
        {rewards.map((r) => (
          <s-stack key={r.id} direction="inline" gap="base" justifyContent="space-between">
            <s-text>{r.label}</s-text>
            <s-button disabled={busy !== null} loading={busy === r.id} onClick={() => onRedeem(r.id)}>{t("redeem")}</s-button>
          </s-stack>
        ))}
      </s-stack>
    </s-section>
  );
}
