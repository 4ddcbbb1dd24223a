/**
 * The shopper's Rewards page (customer-account.page.render, a full-page extension in the page
 * component: https://shopify.dev/docs/api/customer-account-ui-extensions/2026-07-rc/targets/full-page):
 * balance and tier, every reward (the ones the shopper can take first, the others with the
 * backend's reason), redeeming one for a code, the history in the ledger's own explanations, the
 * birthday, and the referral link.
 */
import "@shopify/ui-extensions/preact";
import { render } from "preact";
import { useRef, useState } from "preact/hooks";

import { request, type Result } from "../../lib/api";
import { PATHS } from "../../lib/config";
import { parseAny, parseRedemption, parseSummary, type Redemption, type Summary } from "../../lib/contract";
import { useResult } from "../../lib/hooks";
import { Attempts, birthdayValue } from "../../lib/redeem";
import { birthdayView, failureText, profileView, rewardRows } from "../../lib/view";

export default async () => {
  render(<RewardsPage />, document.body);
};

const t = (key: string) => String(shopify.i18n.translate(key));
const token = () => shopify.sessionToken.get();

function RewardsPage() {
  const locale = shopify.localization.language.value.isoCode;
  const [result, reload] = useResult(() => request(PATHS.summary, { token, parse: parseSummary, locale }), [locale]);
  if (!result) {
    return (
      <s-page heading={t("title")}>
        <s-section><s-skeleton-paragraph /></s-section>
      </s-page>
    );
  }
  if (!result.ok) {
    return (
      <s-page heading={t("title")}>
        <s-banner tone="warning">
          <s-paragraph>{t("error")}</s-paragraph>
          <s-button onClick={reload}>{t("retry")}</s-button>
        </s-banner>
      </s-page>
    );
  }
  return (
    <s-page heading={t("title")}>
      <s-stack gap="base">
        <Balance summary={result.data} />
        <Rewards summary={result.data} locale={locale} onRedeemed={reload} />
        <History summary={result.data} />
        <Birthday summary={result.data} locale={locale} onSaved={reload} />
        {result.data.referral && (
          <s-section heading={t("referral")}>
            <s-stack gap="small-200">
              <s-text>{result.data.referral.link}</s-text>
              <s-clipboard-item id="loyalty-referral-page" text={result.data.referral.link} />
              <s-button commandFor="loyalty-referral-page" command="--copy">{t("copy_link")}</s-button>
            </s-stack>
          </s-section>
        )}
      </s-stack>
    </s-page>
  );
}

function Balance({ summary }: { summary: Summary }) {
  const v = profileView(summary, (n) => shopify.i18n.formatNumber(n));
  return (
    <s-section>
      <s-grid gridTemplateColumns="1fr 1fr 1fr" gap="base">
        <s-stack gap="small-200">
          <s-text color="subdued">{t("points")}</s-text>
          <s-heading>{v.points}</s-heading>
          {v.pending && <s-text color="subdued">{`${t("pending")}: ${v.pending}`}</s-text>}
        </s-stack>
        {v.tier && (
          <s-stack gap="small-200">
            <s-text color="subdued">{t("tier")}</s-text>
            <s-heading>{v.tier.name}</s-heading>
            {v.tier.percent !== null && <s-progress value={v.tier.percent} max={100} accessibilityLabel={v.tier.progress || v.tier.name} />}
            {v.tier.progress && <s-text>{v.tier.progress}</s-text>}
          </s-stack>
        )}
        {v.storeCredit && (
          <s-stack gap="small-200">
            <s-text color="subdued">{t("store_credit")}</s-text>
            <s-heading>{v.storeCredit}</s-heading>
          </s-stack>
        )}
      </s-grid>
    </s-section>
  );
}

function Rewards({ summary, locale, onRedeemed }: { summary: Summary; locale: string; onRedeemed: () => void }) {
  const attempts = useRef(new Attempts()).current;
  const [busy, setBusy] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Result<Redemption> | null>(null);
  const rows = rewardRows(summary);

  async function redeem(id: string) {
    setBusy(id);
    setOutcome(null);
    const r = await request(PATHS.redeem, {
      token, parse: parseRedemption, locale, body: { reward_id: id, idempotency_key: attempts.key(id) },
    });
    attempts.settle(id, r);
    setBusy(null);
    setOutcome(r);
    if (r.ok) onRedeemed();
  }

  return (
    <s-section heading={t("rewards")}>
      <s-stack gap="base">
        {outcome?.ok && (
          <s-banner tone="success" heading={outcome.data.title || t("your_code")}>
            <s-stack gap="small-200">
              <s-heading>{outcome.data.code}</s-heading>
              {outcome.data.expires_at_text && <s-text color="subdued">{outcome.data.expires_at_text}</s-text>}
              <s-clipboard-item id="loyalty-code" text={outcome.data.code} />
              <s-button commandFor="loyalty-code" command="--copy">{t("copy_code")}</s-button>
            </s-stack>
          </s-banner>
        )}
        {outcome && !outcome.ok && (
          <s-banner tone="critical">
            <s-paragraph>{failureText(outcome, t, "redeem_error")}</s-paragraph>
          </s-banner>
        )}
        {rows.length === 0 && <s-text color="subdued">{t("no_rewards")}</s-text>}
        {rows.map(({ reward, canRedeem, note }) => (
          <s-stack key={reward.id} direction="inline" gap="base" justifyContent="space-between" alignItems="center">
            <s-stack gap="small-200">
              <s-text type="strong">{reward.name}</s-text>
              <s-text color="subdued">{[reward.value_text, reward.cost_text].filter(Boolean).join(" · ")}</s-text>
              {note && <s-text color="subdued">{note}</s-text>}
            </s-stack>
            <s-button
              variant={canRedeem ? "primary" : "secondary"}
              disabled={!canRedeem || (busy !== null && busy !== reward.id)}
              loading={busy === reward.id}
              onClick={() => redeem(reward.id)}
            >
              {t("redeem")}
            </s-button>
          </s-stack>
        ))}
      </s-stack>
    </s-section>
  );
}

function History({ summary }: { summary: Summary }) {
  return (
    <s-section heading={t("history")}>
      {summary.activity.length === 0 ? (
        <s-text color="subdued">{t("no_history")}</s-text>
      ) : (
        <s-stack gap="small-200">
          {summary.activity.map((a, i) => (
            <s-grid key={i} gridTemplateColumns="auto 1fr auto" gap="base">
              <s-text color="subdued">{a.when_text}</s-text>
              <s-text>{a.text}</s-text>
              <s-text type="strong">{a.points_text}</s-text>
            </s-grid>
          ))}
        </s-stack>
      )}
    </s-section>
  );
}

function Birthday({ summary, locale, onSaved }: { summary: Summary; locale: string; onSaved: () => void }) {
  const [value, setValue] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  async function save() {
    const birthday = birthdayValue(value);
    if (!birthday) {
      setError(t("birthday_error"));
      return;
    }
    setBusy(true);
    setError(null);
    const r = await request(PATHS.birthday, { token, parse: parseAny, locale, body: { birthday } });
    setBusy(false);
    if (r.ok) {
      setSaved(true);
      onSaved();
    } else {
      setError(failureText(r, t, "birthday_error"));
    }
  }

  const view = birthdayView(summary);
  if (!view && !saved) return null;
  return (
    <s-section heading={t("birthday")}>
      <s-stack gap="small-200">
        {view?.text && <s-paragraph>{view.text}</s-paragraph>}
        {saved && <s-text tone="success">{t("birthday_saved")}</s-text>}
        {view?.ask && !saved && (
          <s-stack direction="inline" gap="base" alignItems="end">
            <s-date-field
              label={t("birthday_label")}
              value={value}
              error={error ?? undefined}
              onChange={(e) => setValue((e.currentTarget as HTMLInputElement).value)}
            />
            <s-button loading={busy} onClick={save}>{t("save")}</s-button>
          </s-stack>
        )}
      </s-stack>
    </s-section>
  );
}
