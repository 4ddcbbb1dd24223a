"""Importers for the WooCommerce loyalty plugins a merchant leaves (domain.imports.Format).

One `Format` per file layout. Where the plugin has its own CSV export (YITH) the layout is
that export's; where the plugin keeps its data only in tables (WooCommerce Points & Rewards,
WPLoyalty's ledger, myCRED's log and balances) the layout is the one our WordPress plugin writes
from those tables (connectors/woocommerce/wordpress/loyalty-widget.php, route
`GET /wp-json/wc-loyalty/v1/export/<plugin>?kind=balances|history`), with the tables' own column
names, so a merchant's own SQL export of the same tables (phpMyAdmin, WP-CLI `wp db export`
as CSV) reads the same way.

Who: the WordPress user id is WooCommerce's customer id (`customer_id`); the e-mail when the
file has one. Times: WooCommerce Points & Rewards and YITH write MySQL 'YYYY-MM-DD HH:MM:SS' in
UTC (`current_time('mysql', 1)`, PHP `date()` under WordPress's UTC default zone); WPLoyalty and
myCRED store Unix seconds. `import_cells.moment` reads both.

Pure: no storage, no clock, no I/O.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from . import import_cells as cell
from .import_rows import Format, ImportLot, ImportRow, Transaction, register
from .import_cells import Cells

# -- WooCommerce Points & Rewards (woocommerce.com extension) ------------------------------
# Tables documented in the plugin's main file, woocommerce-points-and-rewards.php ("Custom Table
# wc_points_rewards_user_points" / "..._user_points_log"); rows written by
# includes/class-wc-points-rewards-manager.php (increase_points / decrease_points: one
# user_points row per award with `points_balance` what is left of it, spent oldest first;
# `date` = current_time('mysql', 1), UTC). The balance is the sum of `points_balance`
# (WC_Points_Rewards_Manager::get_users_points).
WC_PR_DOC = ("WooCommerce Points and Rewards: woocommerce-points-and-rewards.php (tables "
             "wc_points_rewards_user_points, wc_points_rewards_user_points_log), "
             "includes/class-wc-points-rewards-manager.php")

# The log's `type` slugs (WC_Points_Rewards_Manager::event_type_description) -> our kinds.
WC_PR_KINDS = {
    "order-placed": "earn", "account-signup": "earn", "product-review": "earn",
    "order-redeem": "spend", "expire": "expire", "admin-adjustment": "adjust",
    "order-cancelled": "refund", "order-refunded": "refund",
}


def _wc_pr_points(line: int, record: dict[str, str]) -> ImportRow:
    """One user_points record: an award and what is left of it (a dated lot). Several rows per
    customer add up (mode "add"); a negative `points_balance` is the plugin's overdraft record
    (decrease_points with nothing left to take from) and lowers the sum."""
    c = Cells(record)
    email = c.get(cell.email, "user_email")
    customer = cell.customer_id(c.raw("user_id"))
    left = c.get(cell.points, "points_balance")
    earned = c.get(cell.moment, "date")
    lots = (ImportLot(left, earned_at=earned),) if left and left > 0 else ()
    if not email and not customer:
        c.problems.append(("no_customer", "user_id"))
    return ImportRow(line, email=email, customer_id=customer, points=left, mode="add", lots=lots,
                     problems=c.found, source_id=c.raw("id") or None)


def _wc_pr_log(line: int, record: dict[str, str]) -> ImportRow:
    c = Cells(record)
    email = c.get(cell.email, "user_email")
    customer = cell.customer_id(c.raw("user_id"))
    kind_slug = c.raw("type")
    amount = c.get(cell.points, "points")
    txn = Transaction(points=amount or 0, occurred_at=c.get(cell.moment, "date"),
                      txn_id=c.raw("id") or None, kind=WC_PR_KINDS.get(kind_slug, "other"),
                      label=cell.text(kind_slug), order_id=cell.customer_id(c.raw("order_id")))
    if not email and not customer:
        c.problems.append(("no_customer", "user_id"))
    return ImportRow(line, email=email, customer_id=customer, txn=txn, problems=c.found)


WC_POINTS_REWARDS = register(Format(
    name="wc_points_rewards", title="WooCommerce Points and Rewards (points)",
    required=frozenset({"user_id", "points_balance", "order_id", "date"}),
    optional=frozenset({"id", "points", "user_email"}),
    build=_wc_pr_points, doc=WC_PR_DOC))

WC_POINTS_REWARDS_LOG = register(Format(
    name="wc_points_rewards_log", title="WooCommerce Points and Rewards (points log)",
    required=frozenset({"user_id", "points", "type", "user_points_id", "admin_user_id"}),
    optional=frozenset({"id", "order_id", "date", "data", "user_email"}),
    build=_wc_pr_log, doc=WC_PR_DOC))


# -- WPLoyalty (wployalty.net, plugin wp-loyalty-rules) ------------------------------------
# Tables: wlr_users (App/Models/Users.php: user_email UNIQUE, refer_code, points,
# used_total_points, earn_total_point, birth_date BIGINT (Unix), level_id, birthday_date DATE,
# created_date BIGINT (Unix), is_banned_user), wlr_levels (App/Models/Levels.php: name, ...),
# wlr_points_ledger (App/Models/PointsLedger.php: user_email, action_type, action_process_type,
# credit_points, debit_points, note, created_at BIGINT (Unix)). WPLoyalty keys members by e-mail;
# our plugin adds the WordPress user id (`user_id`, wp_users.ID of that e-mail, empty for a guest)
# and the level's name (`level_name`). WPLoyalty's own CSV import takes email, points,
# referral_code (docs.wployalty.net/customers-levels-and-vip/importing-customers-and-points).
WPL_DOC = ("WPLoyalty: App/Models/Users.php (wlr_users), App/Models/Levels.php (wlr_levels), "
           "App/Models/PointsLedger.php (wlr_points_ledger); "
           "https://docs.wployalty.net/customers-levels-and-vip/importing-customers-and-points")


def _unix_day(text: str) -> date | None:
    """WPLoyalty's `birth_date`: Unix seconds (0: none) of a birthday."""
    value = (text or "").strip()
    if not value or value == "0":
        return None
    if not value.isdigit():
        raise cell.BadCell("bad_birthday")
    return datetime.fromtimestamp(int(value), timezone.utc).date()


def _birthday(text: str) -> date | None:
    value = (text or "").strip()
    if value.startswith("0000-00-00"):  # MySQL's zero date: not set
        return None
    return cell.birthday(value)


def _wployalty_user(line: int, record: dict[str, str]) -> ImportRow:
    c = Cells(record)
    email = c.get(cell.email, "user_email")
    customer = cell.customer_id(c.raw("user_id"))
    balance = c.get(cell.points, "points")
    if balance is not None and balance < 0:
        c.problems.append(("negative_balance", "points"))
        balance = None
    born = c.get(_birthday, "birthday_date")
    if born is None and not any(column == "birthday_date" for _, column in c.problems):
        born = c.get(_unix_day, "birth_date")  # the older column, still filled by some versions
    code = cell.text(c.raw("refer_code"), 64)
    if not email and not customer:
        c.problems.append(("no_customer", "user_email"))
    return ImportRow(line, email=email, customer_id=customer, points=balance, mode="set",
                     tier=cell.text(c.raw("level_name")), birthday=born, referral_code=code,
                     problems=c.found, source_id=c.raw("id") or None)


def _wployalty_kind(action_type: str, process: str, signed: int) -> str:
    """WPLoyalty's ledger words -> our kinds. `action_process_type` is what happened
    (earn_point, reduce_point, ...), `action_type` why (point_for_purchase, admin_change, ...);
    these are read by their words, and a line they do not name is an earn or a spend by sign."""
    words = f"{action_type} {process}".lower()
    if "expir" in words:
        return "expire"
    if "refund" in words or "cancel" in words or "revoke" in words or "return" in words:
        return "refund"
    if "admin" in words or "import" in words or "user_removed" in words:
        return "adjust"
    if "redeem" in words or signed < 0:
        return "spend"
    return "earn" if signed > 0 else "other"


def _wployalty_ledger(line: int, record: dict[str, str]) -> ImportRow:
    c = Cells(record)
    email = c.get(cell.email, "user_email")
    customer = cell.customer_id(c.raw("user_id"))
    credit = c.get(cell.points, "credit_points") or 0
    debit = c.get(cell.points, "debit_points") or 0
    signed = credit - abs(debit)
    action, process = c.raw("action_type"), c.raw("action_process_type")
    txn = Transaction(points=signed, occurred_at=c.get(cell.moment, "created_at"),
                      txn_id=c.raw("id") or None, kind=_wployalty_kind(action, process, signed),
                      label=cell.text(action), note=cell.text(c.raw("note"), 500))
    if not email and not customer:
        c.problems.append(("no_customer", "user_email"))
    return ImportRow(line, email=email, customer_id=customer, txn=txn, problems=c.found)


WPLOYALTY = register(Format(
    name="wployalty", title="WPLoyalty (customers)",
    required=frozenset({"user_email", "refer_code", "earn_total_point"}),
    optional=frozenset({"id", "user_id", "points", "used_total_points", "level_id", "level_name",
                        "birth_date", "birthday_date", "created_date", "is_banned_user"}),
    build=_wployalty_user, doc=WPL_DOC))

WPLOYALTY_LEDGER = register(Format(
    name="wployalty_ledger", title="WPLoyalty (points ledger)",
    required=frozenset({"user_email", "action_type", "credit_points", "debit_points"}),
    optional=frozenset({"id", "user_id", "action_process_type", "note", "created_at"}),
    build=_wployalty_ledger, doc=WPL_DOC))


# -- YITH WooCommerce Points and Rewards -----------------------------------------------------
# Its export (Import/Export tab; YITH_WC_Points_Rewards_Porting::export in
# includes/class.yith-wc-points-rewards-porting.php): a header row `id,points` or `email,points`
# (the merchant picks), the balance from the `_ywpar_user_total_points` user meta, the delimiter
# the merchant chose (',' or ';': domain.imports sniffs it). Our plugin writes `id,email,points`.
# The history is the yith_ywpar_points_log table (user_id, action, order_id, amount,
# date_earning, cancelled, description; the porting class's INSERT and the plugin's
# register_log), which our plugin writes with those names.
YITH_DOC = ("YITH WooCommerce Points and Rewards: "
            "https://docs.yithemes.com/yith-woocommerce-points-and-rewards/premium-version-settings/import-and-export-tab/, "
            "includes/class.yith-wc-points-rewards-porting.php (export, yith_ywpar_points_log)")

# yith_ywpar_points_log `action` values (the porting class's map from WooCommerce Points &
# Rewards' types, and get_user_rewarded_points' list) -> our kinds.
YITH_KINDS = {
    "order_completed": "earn", "registration_exp": "earn", "reviews_exp": "earn",
    "redeemed_points": "spend", "expired_points": "expire", "admin_action": "adjust",
    "order_refund": "refund", "order_cancelled": "refund",
}


class _ExportOnly(Format):
    """A plugin export whose header names are generic (YITH's `email,points`): it fits only a
    file with no other columns than its own (and someone to give the points to), so a richer file
    goes to the importer made for it. `email,points` alone is also Smile's and Yotpo's import
    template (domain.import_formats, smile_import, which needs both columns): that more specific
    importer takes such a file (as points to add; on a shop with no points yet the same as
    YITH's balance) unless the merchant names this one. `id,points` and our plugin's
    `id,email,points` are YITH's only."""

    def score(self, headers: set[str]) -> int:
        if not headers <= self.known or not headers & self.optional:
            return -1
        return super().score(headers)


def _yith_points(line: int, record: dict[str, str]) -> ImportRow:
    c = Cells(record)
    email = c.get(cell.email, "email")
    customer = cell.customer_id(c.raw("id"))
    balance = c.get(cell.points, "points")
    if balance is not None and balance < 0:
        c.problems.append(("negative_balance", "points"))
        balance = None
    if not email and not customer:
        c.problems.append(("no_customer", "email" if "email" in record else "id"))
    return ImportRow(line, email=email, customer_id=customer, points=balance, mode="set",
                     problems=c.found)


def _yith_log(line: int, record: dict[str, str]) -> ImportRow:
    c = Cells(record)
    email = c.get(cell.email, "user_email")
    customer = cell.customer_id(c.raw("user_id"))
    action = c.raw("action")
    txn = Transaction(points=c.get(cell.points, "amount") or 0,
                      occurred_at=c.get(cell.moment, "date_earning"), txn_id=c.raw("id") or None,
                      kind=YITH_KINDS.get(action, "other"), label=cell.text(action),
                      note=cell.text(c.raw("description"), 500),
                      order_id=cell.customer_id(c.raw("order_id")))
    if not email and not customer:
        c.problems.append(("no_customer", "user_id"))
    return ImportRow(line, email=email, customer_id=customer, txn=txn, problems=c.found)


YITH_POINTS = register(_ExportOnly(
    name="yith_points", title="YITH WooCommerce Points and Rewards (export)",
    required=frozenset({"points"}), optional=frozenset({"id", "email"}),
    build=_yith_points, doc=YITH_DOC))

YITH_POINTS_LOG = register(Format(
    name="yith_points_log", title="YITH WooCommerce Points and Rewards (points log)",
    required=frozenset({"user_id", "action", "amount", "date_earning"}),
    optional=frozenset({"id", "order_id", "cancelled", "description", "user_email"}),
    build=_yith_log, doc=YITH_DOC))


# -- myCRED ------------------------------------------------------------------------------------
# The log table `<prefix>myCRED_log` (codex.mycred.me/chapter-i/the-log/; created by
# mycred_install_log: id, ref, ref_id, user_id, creds, ctype DEFAULT 'mycred_default',
# time bigint (Unix), entry, data). Balances live in user meta under the point type's key
# (mycred.me/about/features: "saved in your WordPress database's user-meta table"); our plugin
# writes them as user_id, user_email, ctype, balance for one point type. myCRED's own CSV tools
# are positional and header-less (codex.mycred.me/chapter-ii/import-data/importing-balances/,
# .../importing-log-entries/), so these layouts carry the table's names instead.
MYCRED_DOC = ("myCRED: https://codex.mycred.me/chapter-i/the-log/ (myCRED_log), "
              "https://mycred.me/about/features/ (balances in user meta), "
              "https://codex.mycred.me/chapter-ii/import-data/importing-log-entries/")

# `ref` values: the WooCommerce gateway charges with ref 'woocommerce_payment' and the order id
# as ref_id (myCRED's addons/gateway woocommerce class: add_creds('woocommerce_payment', ...,
# $order_id, ...)); 'manual' is an admin's adjustment. Others are read by their words.
MYCRED_ORDER_REFS = {"woocommerce_payment"}


def _mycred_kind(ref: str, signed: int) -> str:
    ref = ref.lower()
    if ref == "manual" or "admin" in ref or "import" in ref:
        return "adjust"
    if "expir" in ref:
        return "expire"
    if "refund" in ref or "cancel" in ref:
        return "refund"
    if "payment" in ref or "coupon" in ref or signed < 0:
        return "spend"
    return "earn" if signed > 0 else "other"


def _mycred_balance(line: int, record: dict[str, str]) -> ImportRow:
    c = Cells(record)
    email = c.get(cell.email, "user_email")
    customer = cell.customer_id(c.raw("user_id"))
    balance = c.get(cell.points, "balance")
    if balance is not None and balance < 0:
        c.problems.append(("negative_balance", "balance"))
        balance = None
    if not email and not customer:
        c.problems.append(("no_customer", "user_id"))
    return ImportRow(line, email=email, customer_id=customer, points=balance, mode="set",
                     problems=c.found)


def _mycred_log(line: int, record: dict[str, str]) -> ImportRow:
    c = Cells(record)
    email = c.get(cell.email, "user_email")
    customer = cell.customer_id(c.raw("user_id"))
    ref = c.raw("ref")
    signed = c.get(cell.points, "creds") or 0
    order = cell.customer_id(c.raw("ref_id")) if ref in MYCRED_ORDER_REFS else None
    txn = Transaction(points=signed, occurred_at=c.get(cell.moment, "time"), txn_id=c.raw("id") or None,
                      kind=_mycred_kind(ref, signed), label=cell.text(ref),
                      note=cell.text(c.raw("entry"), 500), order_id=order)
    if not email and not customer:
        c.problems.append(("no_customer", "user_id"))
    return ImportRow(line, email=email, customer_id=customer, txn=txn, problems=c.found)


MYCRED = register(Format(
    name="mycred", title="myCRED (balances)",
    required=frozenset({"user_id", "ctype", "balance"}),
    optional=frozenset({"user_email"}),
    build=_mycred_balance, doc=MYCRED_DOC))

MYCRED_LOG = register(Format(
    name="mycred_log", title="myCRED (log)",
    required=frozenset({"ref", "user_id", "creds", "ctype", "time"}),
    optional=frozenset({"id", "ref_id", "entry", "data", "user_email"}),
    build=_mycred_log, doc=MYCRED_DOC))

WOO_FORMATS = (WC_POINTS_REWARDS, WC_POINTS_REWARDS_LOG, WPLOYALTY, WPLOYALTY_LEDGER, YITH_POINTS,
               YITH_POINTS_LOG, MYCRED, MYCRED_LOG)

# What our WordPress plugin's export route writes, per plugin and kind: the header row of each
# layout (the route and the stand-in write exactly these, in this order).
EXPORT_COLUMNS = {
    ("wc_points_rewards", "balances"): ("id", "user_id", "user_email", "points", "points_balance",
                                        "order_id", "date"),
    ("wc_points_rewards", "history"): ("id", "user_id", "user_email", "points", "type", "user_points_id",
                                       "order_id", "admin_user_id", "date"),
    ("wployalty", "balances"): ("id", "user_id", "user_email", "refer_code", "points", "used_total_points",
                                "earn_total_point", "level_id", "level_name", "birth_date", "birthday_date",
                                "created_date", "is_banned_user"),
    ("wployalty", "history"): ("id", "user_id", "user_email", "action_type", "action_process_type",
                               "credit_points", "debit_points", "note", "created_at"),
    ("yith", "balances"): ("id", "email", "points"),
    ("yith", "history"): ("id", "user_id", "user_email", "action", "order_id", "amount", "date_earning",
                          "cancelled", "description"),
    ("mycred", "balances"): ("user_id", "user_email", "ctype", "balance"),
    ("mycred", "history"): ("id", "ref", "ref_id", "user_id", "user_email", "creds", "ctype", "time", "entry"),
}
