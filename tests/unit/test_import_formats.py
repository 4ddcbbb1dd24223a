"""The importers of domain.import_formats on real-shaped sample files (tests/fixtures/imports):
each file is recognised as its format, rows read exactly, unreadable cells become problems
with their codes and columns, and a large file is read in flat memory."""
import io
import tracemalloc
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from plugin_app.domain import import_cells as cells
from plugin_app.domain import imports
from plugin_app.domain.imports import FORMATS, PROBLEMS, BadFile, ImportRow, UnknownFormat

pytestmark = pytest.mark.fast

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"
UTC = timezone.utc
OURS = ("members", "history", "adjustments")
VENDORS = ("smile_import", "smile_export", "loyaltylion", "yotpo", "rivo", "rivo_history")


def load(name: str, fmt: str | None = None) -> tuple[str, dict[int, ImportRow]]:
    with open(FIXTURES / f"{name}.csv", encoding="utf-8", newline="") as stream:
        chosen, rows = imports.read(stream, fmt)
        return chosen.name, {row.line: row for row in rows}


def read_text(body: str, fmt: str | None = None) -> tuple[str, list[ImportRow]]:
    chosen, rows = imports.read(io.StringIO(body), fmt)
    return chosen.name, list(rows)


# -- detection -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", VENDORS + OURS)
def test_each_sample_file_is_recognised_as_its_own_format(name):
    assert load(name)[0] == name


def test_every_format_cites_where_its_columns_are_documented():
    imports._load_formats()
    for name in VENDORS + OURS:
        assert FORMATS[name].doc, name
    for name in VENDORS:
        assert "https://" in FORMATS[name].doc, name


@pytest.mark.parametrize("name", VENDORS + OURS)
def test_every_accepted_spelling_of_a_required_column_still_picks_the_format(name):
    imports._load_formats()
    fmt = FORMATS[name]
    entries = sorted(fmt.required)
    for i, entry in enumerate(entries):
        for alternative in entry.split("|"):
            headers = [e.split("|")[0] for e in entries[:i] + entries[i + 1:]] + [alternative]
            assert imports.detect(headers).name == name, (name, headers)


def test_headers_are_compared_whatever_their_case_spacing_or_punctuation():
    assert imports.detect(["  E-Mail ", "POINTS"]).name == "smile_import"
    assert imports.detect(["\ufeffEmail", "Points Approved", "Points-Pending"]).name == "loyaltylion"


def test_a_file_whose_columns_fit_no_importer_is_refused():
    with pytest.raises(UnknownFormat):
        read_text("name,phone\nAda,123\n")
    with pytest.raises(UnknownFormat):
        read_text("")


def test_naming_a_format_the_file_does_not_fit_says_which_columns_are_missing():
    with pytest.raises(UnknownFormat, match="reason"):
        read_text("email,points\na@example.com,5\n", fmt="adjustments")
    with pytest.raises(UnknownFormat, match="no importer named"):
        read_text("email,points\na@example.com,5\n", fmt="nope")


def test_a_named_format_reads_a_file_another_format_would_also_fit():
    # {email, points, reason}: adjustments by detection; named, the Smile import reads it.
    assert read_text("email,points,reason\na@example.com,5,x\n")[0] == "adjustments"
    name, rows = read_text("email,points,reason\na@example.com,5,x\n", fmt="smile_import")
    assert name == "smile_import" and rows[0].points == 5 and rows[0].mode == "add"


def test_an_equal_fit_is_refused_rather_than_guessed():
    one = imports.Format("tie_a", "A", frozenset({"alpha", "beta"}), lambda n, r: ImportRow(n))
    two = imports.Format("tie_b", "B", frozenset({"alpha", "beta"}), lambda n, r: ImportRow(n))
    imports._load_formats()
    imports.register(one)
    imports.register(two)
    try:
        with pytest.raises(UnknownFormat, match="equally well"):
            imports.detect(["alpha", "beta"])
    finally:
        del FORMATS["tie_a"], FORMATS["tie_b"]


def test_between_equal_scores_the_more_specific_format_wins():
    loose = imports.Format("tie_loose", "L", frozenset({"alpha"}), lambda n, r: ImportRow(n),
                           optional=frozenset({"beta"}))
    strict = imports.Format("tie_strict", "S", frozenset({"alpha", "beta"}), lambda n, r: ImportRow(n))
    imports._load_formats()
    imports.register(loose)
    imports.register(strict)
    try:
        assert imports.detect(["alpha", "beta"]).name == "tie_strict"
        assert imports.detect(["alpha"]).name == "tie_loose"
    finally:
        del FORMATS["tie_loose"], FORMATS["tie_strict"]


def test_between_equal_fits_the_format_expecting_fewer_absent_columns_wins():
    # As a WooCommerce plugin's export ("id|email", "points", optional "id"): on 'email,points'
    # it fits as well as Smile's import, which expects nothing more.
    export = imports.Format("tie_export", "E", frozenset({"id|email", "points"}), lambda n, r: ImportRow(n),
                            optional=frozenset({"id", "email"}))
    imports._load_formats()
    imports.register(export)
    try:
        assert imports.detect(["email", "points"]).name == "smile_import"
        assert imports.detect(["id", "email", "points"]).name == "tie_export"
    finally:
        del FORMATS["tie_export"]


# -- Smile.io ------------------------------------------------------------------------------

def test_smile_import_adds_points_and_reads_its_quirks():
    _, rows = load("smile_import")  # a BOM, CRLF, a blank line
    assert rows[2] == ImportRow(2, email="alice@example.com", points=1200, mode="add")
    assert rows[3].email == "bob.smith@example.com" and rows[3].points == 250  # padded, mixed case
    assert rows[4].points == 1250  # "1,250": a thousands separator in a quoted cell
    assert rows[5].email == "alice@example.com" and rows[5].points == 300  # the same customer again
    assert rows[9].points == -40  # "add" mode: a negative takes points away, as in Smile
    assert rows[10].points is None and rows[10].problems == ()  # an empty cell adds nothing
    assert rows[12].points == 0  # line 11 is blank and skipped; line numbers stay the file's
    assert 11 not in rows
    assert all(row.mode == "add" for row in rows.values())


def test_smile_import_problems_carry_their_code_and_column():
    _, rows = load("smile_import")
    assert rows[6].problems == (("no_customer", "email"),)
    assert rows[7].problems == (("bad_email", "email"),) and rows[7].email is None
    assert rows[8].problems == (("bad_points", "points"),) and rows[8].points is None  # 12.5


def test_smile_export_reads_balances_tiers_birthdays_and_referral_links():
    _, rows = load("smile_export")
    assert rows[2] == ImportRow(
        2, email="jane.smith@example.com", name="Smith, Jane", points=1540, mode="set",
        tier="Gold", birthday=date(1904, 5, 27), referral_code="9qr5Pw")
    assert rows[3].birthday == date(1988, 11, 2) and rows[3].tier is None
    assert rows[4].points == 75 and rows[4].birthday is None and rows[4].referral_code is None
    assert rows[5].email == "pat@example.com" and rows[5].birthday == date(1904, 2, 29)
    assert rows[5].points == 0 and rows[5].name == "O'Neil, Pat"
    assert rows[10].email == rows[2].email  # the duplicate is read; matching decides


def test_smile_export_problems():
    _, rows = load("smile_export")
    assert rows[6].problems == (("bad_birthday", "date_of_birth"),) and rows[6].points == 10
    assert rows[7].problems == (("bad_points", "points_balance"),) and rows[7].points is None
    assert rows[8].problems == (("no_customer", "email"),) and rows[8].birthday == date(1904, 7, 4)


# -- LoyaltyLion ---------------------------------------------------------------------------

def test_loyaltylion_semicolon_file_with_european_thousands():
    _, rows = load("loyaltylion")
    assert rows[2] == ImportRow(
        2, email="lena.mueller@example.de", customer_id="6123456789012", name="Lena Müller",
        points=1350, mode="set", tier="Gold", birthday=date(1985, 3, 14), referral_code="LENA10",
        source_id="1001")  # 1.250 approved + 100 pending; spent is history, not balance
    assert rows[3].email == "max@example.de" and rows[3].points == 40  # an empty pending cell
    assert rows[5].customer_id == "6123456789015"  # a Shopify GID
    assert rows[5].name == "Jonas Schmidt; Jr." and rows[5].birthday == date(1979, 12, 31)
    assert rows[5].points == 100
    assert rows[8].email is None and rows[8].customer_id == "6123456789018" and rows[8].problems == ()


def test_loyaltylion_problems():
    _, rows = load("loyaltylion")
    assert rows[4].problems == (("no_customer", "email"),)
    assert rows[6].problems == (("bad_points", "points_approved"),) and rows[6].points is None
    assert rows[9].problems == (("bad_birthday", "birthday"),) and rows[9].points == 10


# -- Yotpo ---------------------------------------------------------------------------------

def test_yotpo_reads_month_day_birthdays_and_swell_referral_links():
    _, rows = load("yotpo")
    assert rows[2] == ImportRow(
        2, email="ann.lee@example.com", name="Ann Lee", points=2500, mode="set", tier="Gold",
        birthday=date(1904, 3, 25), referral_code="ann25x")
    assert rows[3].email == "bo@example.com" and rows[3].birthday == date(1990, 12, 25)
    assert rows[3].points == 0
    assert rows[4].name == "Díaz, Carmen" and rows[4].referral_code is None
    assert rows[5].email == "ann.lee@example.com"


def test_yotpo_problems():
    _, rows = load("yotpo")
    assert rows[6].problems == (("no_customer", "email"),)
    assert rows[7].problems == (("bad_birthday", "birthday"),)
    assert rows[8].problems == (("negative_balance", "points_balance"),) and rows[8].points is None


def test_yotpo_birthday_split_over_month_and_day_columns():
    body = "Email,Points Balance,Points Spent,Birthday Month,Birthday Day\nx@example.com,5,0,7,4\ny@example.com,5,0,13,1\n"
    name, rows = read_text(body)
    assert name == "yotpo"
    assert rows[0].birthday == date(1904, 7, 4)
    assert rows[1].problems == (("bad_birthday", "birthday_month"),)


# -- Rivo ----------------------------------------------------------------------------------

def test_rivo_loyalty_data_sets_points_and_credits():
    _, rows = load("rivo")
    assert rows[2] == ImportRow(2, email="mia@example.com", points=800, mode="set",
                                credit=Decimal("12.50"), tier="Gold", birthday=date(1992, 7, 19))
    assert rows[3].email == "noah@example.com" and rows[3].points is None
    assert rows[3].credit == Decimal("1234.50") and rows[3].birthday == date(1904, 8, 15)
    assert rows[7].credit == Decimal("7.5")  # a decimal comma
    assert rows[7].problems == (("bad_points", "points_balance"),)  # "1O0": a letter O
    assert rows[8].problems == (("negative_balance", "credits_balance"),) and rows[8].credit is None
    assert rows[5].problems == (("no_customer", "email"),)


def test_rivo_points_logs_are_one_transaction_a_row():
    _, rows = load("rivo_history")
    first = rows[2]
    assert (first.email, first.customer_id, first.mode) == ("mia@example.com", "6123456789012", "add")
    assert first.txn == imports.Transaction(
        points=200, occurred_at=datetime(2024, 3, 1, 10, tzinfo=UTC),
        expires_at=datetime(2025, 3, 1, 10, tzinfo=UTC), kind="earn", label="Placed an order",
        note="Thanks, Mia!", order_id="#1001", status="approved")
    assert rows[3].txn.points == -150 and rows[3].txn.kind == "spend"
    assert rows[3].txn.occurred_at == datetime(2024, 4, 2, 9, 30, tzinfo=UTC)
    expired = rows[4].txn  # a lot that lapsed before the file was made
    assert expired.expires_at == datetime(2024, 1, 10, tzinfo=UTC) and expired.points == 100
    assert rows[5].txn.kind == "expire" and rows[5].txn.points == -100
    assert rows[6].txn.status == "revoked" and rows[6].txn.points == 50
    assert rows[7].txn.credit == Decimal("5.00") and rows[7].txn.points == 0
    assert rows[7].txn.kind == "adjust"
    assert rows[10].customer_id == "6123456789015" and rows[10].email is None


def test_rivo_points_logs_problems():
    _, rows = load("rivo_history")
    assert rows[8].problems == (("no_customer", "email"),)
    assert rows[9].problems == (("bad_points", "points_amount"), ("bad_date", "applied_at"))
    assert rows[9].txn.occurred_at is None


def test_rivo_header_variants_it_documents():
    body = "Shopify Customer Email,Credits Amount,Points Order ID\nA@Example.com,\"1,5\",#9\n"
    name, rows = read_text(body)
    assert name == "rivo_history"
    assert rows[0].email == "a@example.com" and rows[0].txn.credit == Decimal("1.5")
    assert rows[0].txn.order_id == "#9"


# -- ours ----------------------------------------------------------------------------------

def test_members_layout():
    _, rows = load("members")
    assert rows[2] == ImportRow(
        2, email="ada@example.com", customer_id="7001", name="Ada Lovelace", points=1200,
        mode="set", credit=Decimal("15.00"), tier="Gold", birthday=date(1985, 12, 10),
        referral_code="ADAL2024", locale="en-GB")
    assert rows[3].email == "grace@example.com" and rows[3].name == "Hopper, Grace"
    assert rows[3].points == 2000 and rows[3].credit == Decimal("1234.56")
    assert rows[3].birthday == date(1904, 12, 9)
    assert rows[4].customer_id == "7003" and rows[4].email is None and rows[4].problems == ()


def test_members_problems():
    _, rows = load("members")
    assert rows[5].problems == (("no_customer", "email"),)
    assert rows[6].problems == (("negative_balance", "points_balance"), ("bad_code", "referral_code"))
    assert rows[6].credit == Decimal(0) and rows[6].points is None
    assert rows[8].problems == (("bad_points", "points_balance"), ("bad_amount", "store_credit"),
                                ("bad_birthday", "birthday"))


def test_history_layout():
    _, rows = load("history")
    assert rows[2].txn == imports.Transaction(
        points=500, occurred_at=datetime(2024, 1, 5, 10, tzinfo=UTC),
        expires_at=datetime(2025, 1, 5, 10, tzinfo=UTC), txn_id="t-1", kind="earn",
        label="Placed an order", order_id="#1001")
    assert rows[3].txn.occurred_at == datetime(2024, 2, 1, 11, tzinfo=UTC)  # +01:00 made UTC
    assert rows[3].txn.note == "$5 off, first order"
    assert rows[4].txn.expires_at == datetime(2023, 3, 1, tzinfo=UTC)  # an expired lot
    assert rows[4].txn.note == "an expired lot" and rows[4].txn.points == 300
    assert rows[5].txn.kind == "expire" and rows[5].txn.points == -300
    assert rows[6].email == "grace@example.com" and rows[6].txn.status == "revoked"
    assert rows[7].txn.credit == Decimal("-2.50") and rows[7].txn.kind == "refund"
    assert rows[8].txn.status == "pending"
    assert all(row.mode == "add" and row.points is None for row in rows.values())


def test_history_problems():
    _, rows = load("history")
    assert rows[9].problems == (("no_customer", "email"),)
    assert sorted(rows[10].problems) == [("bad_date", "occurred_at"), ("bad_kind", "kind"),
                                         ("bad_points", "points"), ("bad_status", "status")]
    assert rows[10].txn.kind == "other" and rows[10].txn.status == "approved"
    assert rows[11].problems == (("no_amount", "points"),)


def test_history_kind_left_empty_is_read_from_the_source_or_sign():
    body = ("email,occurred_at,points,kind,source\n"
            "a@example.com,2024-01-01,10,,Placed an order\n"
            "a@example.com,2024-01-02,-10,,Points expired\n"
            "a@example.com,2024-01-03,-10,,\n"
            "a@example.com,2024-01-04,50,,Birthday reward\n"
            "a@example.com,2024-01-05,-50,,Redeemed reward\n"
            "a@example.com,2024-01-06,20,,Manual adjustment\n")
    _, rows = read_text(body)
    assert [r.txn.kind for r in rows] == ["earn", "expire", "other", "earn", "spend", "adjust"]


def test_adjustments_layout_needs_a_reason():
    _, rows = load("adjustments")
    assert rows[2] == ImportRow(2, email="ada@example.com", customer_id="7001", points=100,
                                mode="add", reason="Apology, late parcel")
    assert rows[3].points == -50 and rows[3].credit == Decimal("2.50")
    assert rows[4].customer_id == "7003" and rows[4].problems == ()
    assert rows[5].problems == (("no_reason", "reason"),) and rows[5].points == 10
    assert rows[6].problems == (("no_customer", "email"),)
    assert rows[7].problems == (("no_amount", "points"),)


def test_every_problem_code_the_samples_raise_is_known():
    seen = set()
    for name in VENDORS + OURS:
        for row in load(name)[1].values():
            seen.update(code for code, _ in row.problems)
    assert seen <= set(PROBLEMS)
    assert {"no_customer", "bad_email", "bad_points", "bad_amount", "bad_date", "bad_birthday",
            "bad_code", "negative_balance", "bad_status", "bad_kind", "no_amount", "no_reason"} <= seen


# -- the reader itself ---------------------------------------------------------------------

def test_quoted_cells_keep_doubled_quotes_commas_and_newlines():
    body = 'email,points,reason\na@example.com,5,"He said ""thanks"", twice\nand again"\n'
    _, rows = read_text(body)
    assert rows[0].reason == 'He said "thanks", twice and again'
    assert rows[0].line == 3  # the row ends on the file's third line


def test_an_uploaded_byte_stream_with_crlf_and_a_quoted_line_break():
    data = "\ufeffE-Mail;Points\r\nA@Example.com;\"1.250\"\r\n\r\nb@example.com;7\r\n".encode("utf-8")
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    name, rows = imports.read(stream)
    assert name.name == "smile_import"
    assert [(r.line, r.email, r.points) for r in rows] == [(2, "a@example.com", 1250), (4, "b@example.com", 7)]


def test_a_tab_separated_file():
    name, rows = read_text("email\tpoints_balance\tstore_credit\na@example.com\t5\t1,5\n")
    assert name == "members" and rows[0].points == 5 and rows[0].credit == Decimal("1.5")


def test_a_broken_file_is_a_bad_file_not_a_crash():
    huge = "x" * 200_000  # beyond the csv module's field size limit
    chosen, rows = imports.read(io.StringIO(f'email,points\na@example.com,5\nb@example.com,"{huge}"\n'))
    assert next(rows).points == 5
    with pytest.raises(BadFile, match="line 3"):
        next(rows)


def test_short_rows_and_repeated_headers():
    body = "email,points,Email\n,5,late@example.com\nonly@example.com\n"
    _, rows = read_text(body)
    assert rows[0].email == "late@example.com"  # two "email" columns: the first non-empty
    assert rows[1].email == "only@example.com" and rows[1].points is None


def test_a_200000_row_file_is_read_in_flat_memory(tmp_path):
    path = tmp_path / "history.csv"
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("email,customer_id,occurred_at,points,store_credit,kind,expires_at,order_id,"
                  "transaction_id,source,note,status\n")
        for i in range(200_000):
            out.write(f"member{i % 5000}@example.com,{7000 + i % 5000},2024-01-{1 + i % 28:02d}T10:00:00Z,"
                      f"{(i % 400) - 100},,earn,2025-01-01,#{i},t-{i},Placed an order,\"note, {i}\",approved\n")
    assert path.stat().st_size > 20_000_000
    count = total = 0
    imports._load_formats()  # importing the importers' modules is not reading the file
    with open(path, encoding="utf-8", newline="") as stream:
        tracemalloc.start()
        try:
            fmt, rows = imports.read(stream)
            for row in rows:
                count += 1
                total += row.txn.points
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert fmt.name == "history" and count == 200_000
    assert total == sum((i % 400) - 100 for i in range(200_000))
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes while reading {path.stat().st_size} bytes"


# -- cell readers the formats rely on ------------------------------------------------------

@pytest.mark.parametrize("cell,value", [("1,250", 1250), ("1.250", 1250), ("1'250", 1250),
                                        ("1 250", 1250), ("1250.0", 1250), ("+40", 40), ("-40", -40),
                                        ("12,0", 12), ("", None)])
def test_points_cells(cell, value):
    assert cells.points(cell) == value


@pytest.mark.parametrize("cell", ["12.5", "12,5", "abc", "1,2,3", "NaN"])
def test_points_cells_that_are_not_whole_numbers(cell):
    with pytest.raises(cells.BadCell) as bad:
        cells.points(cell)
    assert bad.value.code == "bad_points"


@pytest.mark.parametrize("cell,value", [("12.50", "12.50"), ("€12.50", "12.50"), ("-€12.50", "-12.50"),
                                        ("12.50 EUR", "12.50"), ("12,50", "12.50"), ("1,234.50", "1234.50"),
                                        ("1.234,50", "1234.50"), ("1 234,56", "1234.56"), ("$1,000", "1000")])
def test_amount_cells(cell, value):
    assert cells.amount(cell) == Decimal(value)


@pytest.mark.parametrize("cell", ["12abc", "1O0", "abc", "(12.50)"])
def test_amount_cells_that_are_not_money(cell):
    with pytest.raises(cells.BadCell):
        cells.amount(cell)


@pytest.mark.parametrize("cell,value", [("1004-05-27", date(1904, 5, 27)), ("--12-09", date(1904, 12, 9)),
                                        ("03/25", date(1904, 3, 25)), ("12/25/1990", date(1990, 12, 25)),
                                        ("25.12.1990", date(1990, 12, 25)), ("1990/12/25", date(1990, 12, 25)),
                                        ("1004-02-29", date(1904, 2, 29))])
def test_birthday_cells(cell, value):
    assert cells.birthday(cell) == value


@pytest.mark.parametrize("cell,value", [
    ("2024-03-01T10:00:00Z", datetime(2024, 3, 1, 10, tzinfo=UTC)),
    ("2024-03-01T12:00:00+02:00", datetime(2024, 3, 1, 10, tzinfo=UTC)),
    ("2024-03-01 10:00:00 UTC", datetime(2024, 3, 1, 10, tzinfo=UTC)),
    ("3/1/2024 10:00 PM", datetime(2024, 3, 1, 22, tzinfo=UTC)),
    ("01.03.2024 10:00", datetime(2024, 3, 1, 10, tzinfo=UTC)),
    ("1709287200", datetime(2024, 3, 1, 10, tzinfo=UTC)),
])
def test_moment_cells(cell, value):
    assert cells.moment(cell) == value


@pytest.mark.parametrize("cell", ["yesterday", "2024-02-30", "31/12/2024", "1969-12-31"])
def test_moment_cells_that_are_not_dates(cell):
    with pytest.raises(cells.BadCell) as bad:
        cells.moment(cell)
    assert bad.value.code == "bad_date"


@pytest.mark.parametrize("link,code", [("http://i.refs.cc/9qr5Pw", "9qr5Pw"),
                                       ("https://shop.example.com/?sref_id=ann25x", "ann25x"),
                                       ("www.shop.example.com/pages/refer?ref=MAX-1", "MAX-1"),
                                       ("LENA10", "LENA10")])
def test_referral_codes_from_links(link, code):
    assert cells.referral_code(link) == code


@pytest.mark.parametrize("cell", ["BAD CODE!", "https://shop.example.com/", "x"])
def test_referral_codes_that_are_not_usable(cell):
    with pytest.raises(cells.BadCell) as bad:
        cells.referral_code(cell)
    assert bad.value.code == "bad_code"
