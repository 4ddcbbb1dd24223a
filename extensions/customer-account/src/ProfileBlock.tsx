/**
 * Profile page block (customer-account.profile.block.render): points (and pending), tier and the
 * way to the next one, store credit, badges and challenges with their progress, the rewards the
 * shopper can take now, the referral link,
 * and a link to the full Rewards page (the `extension:` protocol of full-page extensions:
 * https://shopify.dev/docs/api/customer-account-ui-extensions/2026-07-rc/targets/full-page).
 * Components: Polaris web components (https://shopify.dev/docs/api/app-ui/using-polaris-web-components).
 */
import "@shopify/ui-extensions/preact";
import { render } from "preact";

import { request } from "../../lib/api";
import { PATHS } from "../../lib/config";
import { parseSummary } from "../../lib/contract";
import { useResult } from "../../lib/hooks";
import { hides, profileView } from "../../lib/view";

export default async () => {
  render(<ProfileBlock />, document.body);
};

function ProfileBlock() {
  const t = (key: string) => String(shopify.i18n.translate(key));
  const locale = shopify.localization.language.value.isoCode;
  const [result, reload] = useResult(
    () => request(PATHS.summary, { token: () => shopify.sessionToken.get(), parse: parseSummary, locale }),
    [locale],
  );
  if (!result) {
    return (
      <s-section heading={t("heading")}>
        <s-skeleton-paragraph />
      </s-section>
    );
  }
  if (!result.ok) {
    if (hides(result.error)) return null;
    return (
      <s-section heading={t("heading")}>
        <s-banner tone="warning">
          <s-paragraph>{t("error")}</s-paragraph>
          <s-button onClick={reload}>{t("retry")}</s-button>
        </s-banner>
      </s-section>
    );
  }
  const v = profileView(result.data, (n) => shopify.i18n.formatNumber(n));
  return (
    <s-section heading={t("heading")}>
      <s-stack gap="base">
        <s-grid gridTemplateColumns="1fr 1fr" gap="base">
          <s-stack gap="small-200">
            <s-text color="subdued">{t("points")}</s-text>
            <s-heading>{v.points}</s-heading>
            {v.pending && <s-text color="subdued">{`${t("pending")}: ${v.pending}`}</s-text>}
          </s-stack>
          {v.storeCredit && (
            <s-stack gap="small-200">
              <s-text color="subdued">{t("store_credit")}</s-text>
              <s-heading>{v.storeCredit}</s-heading>
            </s-stack>
          )}
        </s-grid>
        {v.tier && (
          <s-stack gap="small-200">
            <s-stack direction="inline" gap="small-200">
              <s-text color="subdued">{t("tier")}</s-text>
              <s-badge>{v.tier.name}</s-badge>
            </s-stack>
            {v.tier.percent !== null && <s-progress value={v.tier.percent} max={100} accessibilityLabel={v.tier.progress || v.tier.name} />}
            {v.tier.progress && <s-text>{v.tier.progress}</s-text>}
          </s-stack>
        )}
        {v.badges.length > 0 && (
          <s-stack gap="small-200">
            <s-heading>{t("badges")}</s-heading>
            {v.badges.map((b) => (
              <s-stack key={b.id} gap="small-100">
                <s-stack direction="inline" gap="small-200">
                  <s-text type="strong">{b.name}</s-text>
                  {b.earned > 0 && <s-badge>{t("badge_earned")}</s-badge>}
                </s-stack>
                {b.earned === 0 && <s-progress value={b.percent} max={100} accessibilityLabel={`${b.name}: ${b.text}`} />}
                {b.earned === 0 && <s-text color="subdued">{[b.text, b.points_text].filter(Boolean).join(" · ")}</s-text>}
              </s-stack>
            ))}
          </s-stack>
        )}
        {v.challenges.length > 0 && (
          <s-stack gap="small-200">
            <s-heading>{t("challenges")}</s-heading>
            {v.challenges.map((c) => (
              <s-stack key={c.id} gap="small-100">
                <s-text type="strong">{c.name}</s-text>
                <s-text color="subdued">{[c.ends_text, c.points_text].filter(Boolean).join(" · ")}</s-text>
                {c.joined && <s-progress value={c.percent} max={100} accessibilityLabel={`${c.name}: ${c.text}`} />}
                <s-text>{c.joined ? c.text : t("challenge_join_in_shop")}</s-text>
              </s-stack>
            ))}
          </s-stack>
        )}
        <s-divider />
        <s-heading>{t("rewards")}</s-heading>
        {v.rewards.length === 0 ? (
          <s-text color="subdued">{t("no_rewards")}</s-text>
        ) : (
          <s-unordered-list>
            {v.rewards.map((r) => (
              <s-list-item key={r.id}>{[r.name, r.value_text, r.cost_text].filter(Boolean).join(" · ")}</s-list-item>
            ))}
          </s-unordered-list>
        )}
        {v.referralLink && (
          <s-stack gap="small-200">
            <s-heading>{t("referral")}</s-heading>
            <s-text>{v.referralLink}</s-text>
            <s-clipboard-item id="loyalty-referral" text={v.referralLink} />
            <s-button commandFor="loyalty-referral" command="--copy">{t("copy_link")}</s-button>
          </s-stack>
        )}
        <s-link href="extension:rewards-page/">{t("see_all")}</s-link>
      </s-stack>
    </s-section>
  );
}
