"""Every admin page, as a merchant's browser sees it, in English and Italian: measured against
Shopify's Built for Shopify thresholds (LCP ≤ 2.5 s, CLS ≤ 0.1, INP ≤ 200 ms) in Chromium, checked
with axe-core (no serious or critical violation), free of Content-Security-Policy violations, and
in Italian free of English texts, unformatted amounts and ISO dates. Screenshots of each page in
both languages land in test-artifacts/admin/.

The pages are the ones the navigation links (so a new page is covered when it is linked)."""
import re
from pathlib import Path

import pytest

from plugin_app import i18n

from .test_admin_pages import ADMIN_SHOTS, admin  # noqa: F401  (fixture)
from .test_widgets import browser, needs_browser, store  # noqa: F401  (fixtures)

pytestmark = [needs_browser, pytest.mark.slow]

# Largest Contentful Paint and Cumulative Layout Shift, observed from the page's start (buffered).
OBSERVE = """() => { window.__vitals = {lcp: 0, cls: 0, inp: 0};
  new PerformanceObserver(l => { for (const e of l.getEntries()) window.__vitals.lcp = Math.max(window.__vitals.lcp, e.startTime); })
    .observe({type: 'largest-contentful-paint', buffered: true});
  new PerformanceObserver(l => { for (const e of l.getEntries()) if (!e.hadRecentInput) window.__vitals.cls += e.value; })
    .observe({type: 'layout-shift', buffered: true});
  new PerformanceObserver(l => { for (const e of l.getEntries()) if (e.interactionId) window.__vitals.inp = Math.max(window.__vitals.inp, e.duration); })
    .observe({type: 'event', durationThreshold: 16, buffered: true}); }"""

# A line of English nobody catalogued: the same line on the English and the Italian page, with
# one of English's little words in it (names, e-mails and codes have none).
ENGLISH_WORDS = re.compile(r"\b(the|and|of|to|for|with|your|this|on|in|is|are|from|by|an|no|not|per)\b", re.I)
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
RAW_AMOUNT = re.compile(r"\b\d+\.\d{2} ?[A-Z]{3}\b")  # '6.00 EUR': an amount nobody formatted


def english_texts() -> list[str]:
    """Pieces of English the Italian pages must not show: each catalogued text's literal parts
    (between placeholders) that Italian translates differently, long enough to be words."""
    catalog = i18n.read_catalogue("it")
    pieces = set()
    for m in catalog:
        if not m.id or not m.string:
            continue
        english = m.id[0] if isinstance(m.id, tuple) else m.id
        italian = m.string[0] if isinstance(m.string, tuple) else m.string
        if english == italian:
            continue
        for part in re.split(r"%\([a-z_]+\)[sd]|%[sd]", english):
            part = part.strip(" .,:;·()–-")
            if len(part) >= 12 and " " in part and part not in italian:
                pieces.add(part)
    return sorted(pieces)


def merchant_data(rt, shop_id) -> list[str]:
    """What the merchant named (rewards in every language, tiers) in any version of the program:
    their words, shown as written, so not English the page forgot to translate."""
    names = set()
    for v in rt.programs.history(shop_id):
        program = rt.programs.version(shop_id, v["version"]).program
        for r in program.rewards:
            names.update([r.name, *r.names.values()])
        names.update(level.name for level in program.tiers.levels)
        for item in [*program.badges, *program.challenges]:  # badges and challenges, in every language
            names.update([item.name, *item.names.values()])
        for q in program.survey.questions:  # the survey's questions and choices
            names.update(q.text.values())
            for c in q.choices:
                names.update(c.text.values())
    return sorted((n for n in names if n), key=len, reverse=True)


def without(text: str, data: list[str]) -> str:
    for name in data:
        text = text.replace(name, "…")
    return text


def signed_in(browser, admin):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{admin.base}/admin/login")
    page.fill("#key", admin.key_admin)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/admin/login" not in page.url
    return page


def nav_pages(page) -> list[tuple[str, str]]:
    links = page.locator("header nav a")
    return [(links.nth(i).get_attribute("href"), links.nth(i).inner_text()) for i in range(links.count())]


def measure(page, url: str, shot) -> dict:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(shot), full_page=True)
    # An interaction for INP: the first field or button a merchant would use on the page, three
    # times, and the middle one counted. One interaction on this shared two-core machine varies
    # two- to threefold with the load beside it (the settings page's time-zone list, a native
    # popup of 400-odd options, took 56-96 ms quiet and 208 ms once under CI's load); the field
    # figure Shopify holds pages to is a 75th percentile over visits, not one sample.
    target = page.locator("main input:visible, main select:visible, main summary:visible").first
    if not target.count():
        target = page.locator("main h1")
    durations = []
    for _ in range(3):
        page.evaluate("window.__vitals.inp = 0")
        target.click()
        page.keyboard.press("Tab")
        page.wait_for_timeout(150)
        durations.append(page.evaluate("window.__vitals.inp"))
    vitals = page.evaluate("window.__vitals")
    vitals["inp"] = sorted(durations)[1]
    return vitals


def test_every_admin_page_is_fast_accessible_and_speaks_italian(browser, admin):  # noqa: F811
    from axe_playwright_python.sync_playwright import Axe

    ADMIN_SHOTS.mkdir(parents=True, exist_ok=True)
    page = signed_in(browser, admin)
    violations_csp = []
    page.on("console", lambda m: violations_csp.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script(f"({OBSERVE})()")  # on every page loaded from now on
    pages = nav_pages(page)
    assert len(pages) >= 12, pages  # home, the program's pages, members, analytics, settings, operations
    member = admin.rt.members.by_customer(admin.shop_id, "demo-1003")[0]
    pages += [(f"/admin/members/{member.id}", ""), ("/admin/program/history", ""), ("/admin/notifications", ""),
              ("/admin/program/versions/1/restore", ""), ("/admin/segments/new", ""), ("/admin/segments/thresholds", ""),
              ("/admin/survey/answers", "")]
    with open(Path(__file__).parent / "fixtures" / "imports" / "members.csv", "rb") as f:  # a checked import
        checked = admin.rt.imports.upload(admin.shop_id, "members.csv", f)
    pages += [(f"/admin/imports/{checked['id']}", "")]
    english = english_texts()
    report = []
    measured = {}
    seen_in_english: dict[str, set] = {}
    for lang in ("en", "it"):
        page.goto(f"{admin.base}/admin/login?lang={lang}")  # the admin's language, remembered for the session
        for href, _label in pages:
            url = f"{admin.base}{href}"
            name = href.rstrip("/").rsplit("/", 1)[-1] or "home"
            vitals = measure(page, url, ADMIN_SHOTS / f"page-{name}-{lang}.png")
            measured[f"{lang} {href}"] = vitals
            if vitals["lcp"] > 2500 or vitals["cls"] > 0.1 or vitals["inp"] > 200:
                report.append(f"{lang} {href}: {vitals}")
            results = Axe().run(page, options={"resultTypes": ["violations"],
                                               "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "best-practice"]}})
            for v in results.response["violations"]:
                if v["impact"] in ("serious", "critical"):
                    report.append(f"{lang} {href}: axe {v['id']} ({v['impact']}): {v['nodes'][0]['target']}")
            data = merchant_data(admin.rt, admin.shop_id)
            lines = {without(ln.strip(), data) for ln in page.locator("main").inner_text().split("\n") if ln.strip()}
            if lang == "en":
                seen_in_english[href] = lines
            if lang == "it":
                report += [f"it {href}: uncatalogued English {ln!r}" for ln in lines & seen_in_english.get(href, set())
                           if ENGLISH_WORDS.search(ln)]
                text = without(page.locator("body").inner_text(), data)
                report += [f"it {href}: English text {s!r}" for s in english if s in text]
                report += [f"it {href}: ISO date {d!r}" for d in ISO_DATE.findall(text)]
                report += [f"it {href}: unformatted amount {a!r}" for a in RAW_AMOUNT.findall(text)]
    report += [f"CSP: {v}" for v in violations_csp]
    (ADMIN_SHOTS / "vitals.json").write_text(__import__("json").dumps(measured, indent=1))  # the figures, for the record
    assert not report, "\n".join(report)
