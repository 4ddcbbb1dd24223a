"""The WooCommerce loyalty plugins' files (domain.import_formats_woo), read through
domain.imports: detection, exact values of given rows, problems with their codes; our WordPress
plugin's export route, read page by page by connectors.woocommerce.admin against the stand-in
(loopback HTTP, no outside network), and the route's own PHP with a fake $wpdb."""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from plugin_app.domain import imports
from plugin_app.domain.import_formats_woo import EXPORT_COLUMNS, WOO_FORMATS

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "imports"
PLUGIN = ROOT / "connectors" / "woocommerce" / "wordpress" / "loyalty-widget.php"
UTC = timezone.utc


def rows_of(name: str, fmt: str | None = None):
    with open(FIXTURES / f"{name}.csv", newline="", encoding="utf-8") as fh:
        chosen, rows = imports.read(fh, fmt)
        return chosen.name, list(rows)


def read_text(text: str, fmt: str | None = None):
    chosen, rows = imports.read(io.StringIO(text), fmt)
    return chosen.name, list(rows)


# -- detection ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", [f.name for f in WOO_FORMATS])
def test_each_sample_file_is_detected_as_its_own_format(name):
    """Against every registered importer (the other helper's too, once merged)."""
    detected, rows = rows_of(name)
    assert detected == name
    assert rows


@pytest.mark.parametrize("plugin_kind", sorted(EXPORT_COLUMNS))
def test_what_our_wordpress_plugin_writes_is_detected_by_its_header_alone(plugin_kind):
    """The route's header row (EXPORT_COLUMNS) picks the importer meant for it; an importer's
    required columns are all in it (else the route and the importer disagree)."""
    plugin, kind = plugin_kind
    header = ",".join(EXPORT_COLUMNS[plugin_kind])
    detected = imports.detect(header.split(","))
    expected = {("wc_points_rewards", "balances"): "wc_points_rewards",
                ("wc_points_rewards", "history"): "wc_points_rewards_log",
                ("wployalty", "balances"): "wployalty", ("wployalty", "history"): "wployalty_ledger",
                ("yith", "balances"): "yith_points", ("yith", "history"): "yith_points_log",
                ("mycred", "balances"): "mycred", ("mycred", "history"): "mycred_log"}[plugin_kind]
    assert detected.name == expected
    assert not detected.missing({imports.norm_header(h) for h in EXPORT_COLUMNS[plugin_kind]})


def test_yiths_generic_export_is_taken_only_when_it_has_nothing_else():
    """YITH's `email,points` export has no names of its own: a file with more columns than its
    id/email/points is not YITH's. `email,points` alone is also Smile's and Yotpo's import
    template: when that importer is registered it is the more specific one and takes the file;
    the merchant can name YITH's."""
    assert imports.detect(["id", "points"]).name == "yith_points"
    assert imports.detect(["id", "email", "points"]).name == "yith_points"
    assert imports.detect(["email", "points"]).name == (
        "smile_import" if "smile_import" in imports.FORMATS else "yith_points")
    yith = next(f for f in WOO_FORMATS if f.name == "yith_points")
    assert yith.score({"email", "points", "tier"}) == -1
    assert yith.score({"points"}) == -1  # nobody to give them to
    name, rows = read_text("email,points\r\nZoe@Example.org,340\r\n", "yith_points")
    assert (name, rows[0].email, rows[0].points, rows[0].mode) == ("yith_points", "zoe@example.org", 340, "set")


def test_the_woo_formats_never_claim_each_others_files():
    for fmt in WOO_FORMATS:
        for other in WOO_FORMATS:
            if other is fmt:
                continue
            headers = set(other.known)
            assert fmt.score(headers) < other.score(headers), (fmt.name, other.name)


def test_a_yith_export_with_semicolons_and_user_ids():
    """The delimiter is the merchant's choice in YITH's export; `id` is the WordPress user id;
    0 is nobody (a guest)."""
    name, rows = read_text("id;points\r\n12;340\r\n0;20\r\n")
    assert name == "yith_points"
    assert (rows[0].customer_id, rows[0].email, rows[0].points, rows[0].mode) == ("12", None, 340, "set")
    assert rows[1].customer_id is None and rows[1].problems == (("no_customer", "id"),)


# -- exact values ---------------------------------------------------------------------------

def test_wc_points_rewards_points_become_dated_lots_that_add_up():
    _, rows = rows_of("wc_points_rewards")
    zoe = rows[0]
    assert (zoe.line, zoe.email, zoe.customer_id, zoe.points, zoe.mode, zoe.source_id) == (
        2, "zoe.rossi@example.org", "12", 80, "add", "1")
    assert zoe.lots[0].points == 80 and zoe.lots[0].earned_at == datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
    assert rows[2] == rows[3].__class__(**{**rows[3].__dict__, "line": rows[2].line})  # the duplicate line
    guest = rows[4]
    assert guest.customer_id is None and guest.email == "guest@example.com" and guest.points == 30
    overdraft = rows[5]
    assert overdraft.points == -15 and overdraft.lots == () and overdraft.problems == ()
    assert rows[6].points is None and rows[6].problems == (("bad_points", "points_balance"),)
    assert rows[7].problems == (("no_customer", "user_id"),)


def test_wc_points_rewards_log_lines_carry_date_sign_type_and_order():
    _, rows = rows_of("wc_points_rewards_log")
    spent = rows[1].txn
    assert (spent.points, spent.kind, spent.label, spent.order_id, spent.txn_id) == (
        -40, "spend", "order-redeem", "1009", "2")
    assert spent.occurred_at == datetime(2025, 4, 1, 14, 22, 10, tzinfo=UTC)
    assert [r.txn.kind for r in rows] == ["earn", "spend", "adjust", "adjust", "earn", "refund", "earn", "expire",
                                          "other"]
    assert rows[2].txn.order_id is None  # an adjustment has no order
    assert rows[6].problems == (("bad_points", "points"),)
    assert rows[7].txn.occurred_at is None and rows[7].problems == (("bad_date", "date"),)
    assert rows[8].txn.label == "birthday-bonus"  # a third party's event type is kept in its words


def test_wployalty_customers_bring_balance_level_code_and_birthday():
    _, rows = rows_of("wployalty")
    zoe = rows[0]
    assert (zoe.email, zoe.customer_id, zoe.points, zoe.mode, zoe.tier, zoe.referral_code, zoe.birthday) == (
        "zoe.rossi@example.org", "12", 340, "set", "Silver", "REF-ZR12A", date(1990, 5, 17))
    assert rows[1].email == rows[2].email == "marco@example.it"  # the same member twice, case aside
    guest = rows[3]
    assert guest.customer_id is None and guest.birthday is None and guest.problems == ()  # 0000-00-00: none
    anna = rows[4]
    assert anna.birthday == date(1990, 5, 26)  # the older birth_date column, Unix seconds
    assert anna.points is None and anna.problems == (("bad_points", "points"),)
    assert rows[5].problems == (("negative_balance", "points"),)


def test_wployalty_ledger_signs_credits_and_debits():
    _, rows = rows_of("wployalty_ledger")
    redeemed = rows[1].txn
    assert (redeemed.points, redeemed.kind, redeemed.label) == (-60, "spend", "redeem_point")
    assert redeemed.note == "Redeemed 60 points for a 5,00 € coupon"
    assert rows[2].txn.occurred_at == datetime(2024, 1, 20, 11, 0, tzinfo=UTC)  # Unix seconds read too
    assert rows[2].txn.kind == "adjust" and rows[4].txn.kind == "earn"
    assert rows[5].problems == (("bad_points", "credit_points"),)
    assert (rows[6].txn.points, rows[6].txn.kind) == (-10, "expire")


def test_yith_export_and_log():
    _, rows = rows_of("yith_points")
    assert [(r.customer_id, r.email, r.points, r.mode) for r in rows[:4]] == [
        ("12", "zoe.rossi@example.org", 340, "set"), ("27", "marco@example.it", 1200, "set"),
        ("27", "marco@example.it", 1200, "set"), (None, "guest@example.com", 0, "set")]
    assert rows[4].problems == (("bad_points", "points"),)
    assert rows[5].problems == (("no_customer", "email"),)
    assert rows[6].problems == (("negative_balance", "points"),)
    _, log = rows_of("yith_points_log")
    assert (log[1].txn.points, log[1].txn.kind, log[1].txn.order_id) == (-40, "spend", "1009")
    assert log[2].txn.order_id is None and log[2].txn.note == "Import"  # order 0: none
    assert log[5].txn.kind == "expire" and log[6].problems == (("bad_points", "amount"),)


def test_mycred_balances_and_log():
    _, rows = rows_of("mycred")
    assert (rows[0].customer_id, rows[0].email, rows[0].points) == ("12", "zoe.rossi@example.org", 340)
    assert rows[3].customer_id is None and rows[3].points == 25
    assert rows[4].problems == (("bad_points", "balance"),)  # a point type with decimals
    assert rows[5].problems == (("negative_balance", "balance"),)
    _, log = rows_of("mycred_log")
    paid = log[1].txn
    assert (paid.points, paid.kind, paid.label, paid.order_id, paid.note) == (
        -40, "spend", "woocommerce_payment", "1009", "Payment for Order: #1009")
    assert log[0].txn.order_id is None  # only the payment gateway's ref_id is known to be an order
    assert log[2].txn.kind == "adjust" and log[2].txn.occurred_at == datetime(2024, 1, 20, 11, tzinfo=UTC)
    assert log[5].problems == (("bad_points", "creds"),)


def test_doubled_quotes_inside_a_cell_are_one_quote():
    """RFC 4180, as fputcsv and every exporter write it: the header line has no quotes to sniff
    from, and a note that holds some must still be one cell."""
    text = ("id,user_id,user_email,action_type,action_process_type,credit_points,debit_points,note,created_at\n"
            '2,12,zoe@example.org,redeem_point,redeem_reward,0,60,"for a ""5,00 €"" coupon",1712000000\n')
    name, rows = read_text(text)
    assert name == "wployalty_ledger" and rows[0].txn.note == 'for a "5,00 €" coupon'
    assert rows[0].txn.occurred_at == datetime(2024, 4, 1, 19, 33, 20, tzinfo=UTC)


def test_problem_codes_are_the_contracts():
    for fmt in WOO_FORMATS:
        _, rows = rows_of(fmt.name)
        for row in rows:
            assert all(code in imports.PROBLEMS for code, _ in row.problems)


# -- our WordPress plugin's export, read by connectors.woocommerce.admin ----------------------

@pytest.fixture()
def store():
    from tests import woocommerce_standin as W

    state = W.WooState()
    server, url = W.serve(state)
    yield state, url
    server.shutdown()


def _points_rows(n: int) -> list[dict]:
    return [{"id": 10 * i, "user_id": 100 + i, "user_email": f"Member{i}@Example.org", "points": 50,
             "points_balance": 40 + i, "order_id": 9000 + i, "date": f"2025-0{1 + i % 9}-02 10:00:00"}
            for i in range(1, n + 1)]


def test_the_export_is_read_page_by_page_and_imports(store):
    from connectors.woocommerce.admin import WooAdmin

    state, url = store
    state.loyalty_table("wc_points_rewards", "balances", _points_rows(7))
    lines = list(WooAdmin(url, "ck_standin", "cs_standin").loyalty_export_lines("wc_points_rewards", page_size=3))
    assert [(r["after_id"], r["limit"], r["kind"]) for r in state.export_requests] == [
        ("0", "3", "balances"), ("30", "3", "balances"), ("60", "3", "balances")]
    assert lines[0] == ",".join(EXPORT_COLUMNS[("wc_points_rewards", "balances")]) + "\n"
    assert len(lines) == 8  # one header, seven rows
    name, rows = read_text("".join(lines))
    assert name == "wc_points_rewards"
    assert [(r.customer_id, r.email, r.points) for r in rows][6] == ("107", "member7@example.org", 47)


def test_the_export_stops_at_the_end_and_is_lazy(store):
    from connectors.woocommerce.admin import WooAdmin

    state, url = store
    state.loyalty_table("wc_points_rewards", "balances", _points_rows(6))
    lines = WooAdmin(url, "ck_standin", "cs_standin").loyalty_export_lines("wc_points_rewards", page_size=3)
    assert state.export_requests == []  # nothing asked before it is read
    assert next(lines).startswith("id,user_id,")
    assert len(state.export_requests) == 1  # one page at a time
    rest = list(lines)
    assert len(rest) == 6
    # the last full page says "more may follow"; the next one is empty and says nothing: stop
    assert [r["after_id"] for r in state.export_requests] == ["0", "30", "60"]


def test_the_export_of_history_with_a_point_type(store):
    from connectors.woocommerce.admin import WooAdmin

    state, url = store
    state.loyalty_table("mycred", "history", [
        {"id": 1, "ref": "woocommerce_payment", "ref_id": 1009, "user_id": 12, "user_email": "zoe@example.org",
         "creds": -40, "ctype": "mycred_default", "time": "2025-04-01 14:22:10", "entry": "Payment for Order: #1009"},
        {"id": 2, "ref": "manual", "ref_id": 0, "user_id": 12, "user_email": "zoe@example.org",
         "creds": 5, "ctype": "gems", "time": "2025-04-02 09:00:00", "entry": "Gems"}])
    lines = list(WooAdmin(url, "ck_standin", "cs_standin").loyalty_export_lines("mycred", "history"))
    assert state.export_requests[0]["limit"] == "500" and "point_type" not in state.export_requests[0]
    name, rows = read_text("".join(lines))
    assert name == "mycred_log" and len(rows) == 1  # the default point type only
    assert (rows[0].txn.points, rows[0].txn.order_id) == (-40, "1009")


def test_the_export_of_an_absent_plugin_is_missing_and_bad_keys_are_refused(store):
    from connectors.woocommerce.admin import Missing, Terminal, WooAdmin

    state, url = store
    with pytest.raises(Missing):
        list(WooAdmin(url, "ck_standin", "cs_standin").loyalty_export_lines("wployalty"))
    state.loyalty_table("wployalty", "balances", [])
    assert list(WooAdmin(url, "ck_standin", "cs_standin").loyalty_export_lines("wployalty")) == [
        ",".join(EXPORT_COLUMNS[("wployalty", "balances")]) + "\n"]
    with pytest.raises(Terminal, match="401"):
        list(WooAdmin(url, "ck_standin", "cs_wrong").loyalty_export_lines("wployalty"))
    with pytest.raises(ValueError):
        next(WooAdmin(url, "ck_standin", "cs_standin").loyalty_export_lines("smile"))


# -- the route's PHP, with WordPress and $wpdb faked ------------------------------------------

PHP_HARNESS = r"""<?php
define('ABSPATH', '/');
define('ARRAY_A', 'ARRAY_A');
$filters = array(); $actions = array();
function add_action($name, $fn, ...$rest) { global $actions; $actions[$name][] = $fn; }
function add_filter($name, $fn, ...$rest) { global $filters; $filters[$name][] = $fn; }
function current_user_can($cap) { return $cap === 'manage_woocommerce'; }
$routes = array();
function register_rest_route($ns, $route, $args) { global $routes; $routes[] = array($ns, $route, $args); }
class WP_Error { public $code; public $message; public $data;
  function __construct($c, $m, $d) { $this->code = $c; $this->message = $m; $this->data = $d; } }
class WP_REST_Response { public $data; public $status; public $headers = array();
  function __construct($d, $s) { $this->data = $d; $this->status = $s; }
  function header($k, $v) { $this->headers[$k] = $v; }
  function get_data() { return $this->data; } function get_status() { return $this->status; } }
class Req { public $p; public $route;
  function __construct($p, $route) { $this->p = $p; $this->route = $route; }
  function get_param($k) { return $this->p[$k] ?? null; } function get_route() { return $this->route; } }
class FakeWpdb {
  public $prefix = 'wp_'; public $users = 'wp_users'; public $usermeta = 'wp_usermeta';
  public $tables = array(); public $results = array(); public $queries = array(); public $last_error = '';
  function esc_like($t) { return addcslashes($t, '_%\\'); }
  function prepare($q, ...$args) {
    if (count($args) === 1 && is_array($args[0])) { $args = $args[0]; }
    return vsprintf(str_replace('%s', "'%s'", $q), $args);
  }
  function get_var($q) {
    $this->queries[] = $q;
    if (preg_match("/^SHOW TABLES LIKE '(.*)'$/", $q, $m)) { $t = stripslashes($m[1]); return in_array($t, $this->tables, true) ? $t : null; }
    return null;
  }
  function get_results($q, $output) {
    $this->queries[] = $q;
    $found = array_shift($this->results);
    if ($found === 'error') { $this->last_error = "Unknown column 't.points_balance'"; return null; }
    return $found ?? array();
  }
}
require getenv('PLUGIN');
global $wpdb;
$out = array();
function run($tables, $results, $params) {
  global $wpdb; $wpdb = new FakeWpdb(); $wpdb->tables = $tables; $wpdb->results = $results;
  $r = loyalty_export_handle(new Req($params, '/wc-loyalty/v1/export/' . $params['plugin']));
  $sql = array_values(array_filter($wpdb->queries, function ($q) { return strpos($q, 'SELECT') === 0; }));
  if ($r instanceof WP_Error) { return array('error' => $r->code, 'status' => $r->data['status'], 'sql' => $sql); }
  return array('csv' => $r->get_data(), 'headers' => $r->headers, 'sql' => $sql);
}
$out['pr'] = run(array('wp_wc_points_rewards_user_points'), array(array(
  array('id' => '6', 'user_id' => '12', 'points' => '120', 'points_balance' => '80', 'order_id' => '1001',
        'date' => '2025-03-14 09:30:00', 'wp_user_id' => '12', 'wp_user_email' => 'Zoe.Rossi@Example.org'),
  array('id' => '9', 'user_id' => '27', 'points' => '200', 'points_balance' => '200', 'order_id' => null,
        'date' => '2025-01-20 11:00:00', 'wp_user_id' => null, 'wp_user_email' => null))),
  array('plugin' => 'wc_points_rewards', 'kind' => 'balances', 'after_id' => 5, 'limit' => 2));
$out['wpl'] = run(array('wp_wlr_users', 'wp_wlr_levels'), array(array(
  array('id' => '3', 'user_email' => 'marco@example.it', 'refer_code' => 'REF-MC27B', 'points' => '1200',
        'used_total_points' => '0', 'earn_total_point' => '1200', 'level_id' => '3', 'level_name' => 'Gold',
        'birth_date' => '0', 'birthday_date' => null, 'created_date' => '1705748400', 'is_banned_user' => '0',
        'wp_user_id' => '27', 'wp_user_email' => 'marco@example.it'))),
  array('plugin' => 'wployalty', 'kind' => 'balances', 'after_id' => 0, 'limit' => 500));
$out['ledger'] = run(array('wp_wlr_points_ledger'), array(array(
  array('id' => '2', 'user_email' => 'zoe.rossi@example.org', 'action_type' => 'redeem_point',
        'action_process_type' => 'redeem_reward', 'credit_points' => '0', 'debit_points' => '60',
        'note' => "Redeemed 60 points\r\nfor a \"5,00 €\" coupon", 'created_at' => '1712000000',
        'wp_user_id' => '12', 'wp_user_email' => 'zoe.rossi@example.org'))),
  array('plugin' => 'wployalty', 'kind' => 'history', 'after_id' => 0, 'limit' => 10));
$out['yith'] = run(array('wp_yith_ywpar_points_log'), array(array(
  array('umeta_id' => '77', 'user_id' => '12', 'meta_key' => '_ywpar_user_total_points', 'meta_value' => '340',
        'wp_user_id' => '12', 'wp_user_email' => 'zoe.rossi@example.org'))),
  array('plugin' => 'yith', 'kind' => 'balances', 'after_id' => 0, 'limit' => 1));
$out['mycred'] = run(array('wp_myCRED_log'), array(array()),
  array('plugin' => 'mycred', 'kind' => 'history', 'after_id' => 40, 'limit' => 5000, 'point_type' => 'gems'));
$out['broken'] = run(array('wp_wc_points_rewards_user_points'), array('error'),
  array('plugin' => 'wc_points_rewards', 'kind' => 'balances', 'after_id' => 0, 'limit' => 10));
$out['absent'] = run(array('wp_wlr_users'), array(), array('plugin' => 'mycred', 'kind' => 'balances'));
$served = array();
foreach (array('/wc-loyalty/v1/export/yith', '/wc/v3/orders') as $route) {
  ob_start();
  $done = $filters['rest_pre_serve_request'][0](false, new WP_REST_Response("id,email,points\n", 200), new Req(array(), $route));
  $served[] = array($done, ob_get_clean());
}
$out['served'] = $served;
$actions['rest_api_init'][0]();
$out['route'] = array($routes[0][0], $routes[0][1], $routes[0][2]['permission_callback'](), array_keys($routes[0][2]['args']));
echo json_encode($out);
"""


@pytest.mark.skipif(shutil.which("php") is None, reason="php is not installed here (CI lints it where it is)")
def test_the_wordpress_route_writes_the_layouts_from_the_tables(tmp_path):
    """The plugin's own loyalty_export_* functions in PHP, with WordPress stubbed and a fake
    $wpdb that records the prepared SQL and answers given rows."""
    script = tmp_path / "export.php"
    script.write_text(PHP_HARNESS)
    run = subprocess.run(["php", str(script)], capture_output=True, text=True, env={**os.environ, "PLUGIN": str(PLUGIN)})
    assert run.returncode == 0, run.stdout + run.stderr
    out = json.loads(run.stdout)

    pr = out["pr"]
    assert pr["sql"] == ["SELECT t.*, u.ID AS wp_user_id, u.user_email AS wp_user_email FROM "
                         "wp_wc_points_rewards_user_points t LEFT JOIN wp_users u ON u.ID = t.user_id "
                         "WHERE t.id > 5 AND t.points_balance <> 0 ORDER BY t.id ASC LIMIT 2"]
    assert pr["headers"] == {"Content-Type": "text/csv; charset=utf-8", "X-Loyalty-Next": "9"}
    assert pr["csv"] == ("id,user_id,user_email,points,points_balance,order_id,date\n"
                         "6,12,Zoe.Rossi@Example.org,120,80,1001,\"2025-03-14 09:30:00\"\n"
                         "9,27,,200,200,,\"2025-01-20 11:00:00\"\n")
    name, rows = read_text(pr["csv"])
    assert name == "wc_points_rewards" and rows[1].customer_id == "27" and rows[1].email is None

    wpl = out["wpl"]
    assert "LEFT JOIN wp_users u ON u.user_email = t.user_email LEFT JOIN wp_wlr_levels lv ON lv.id = t.level_id" in wpl["sql"][0]
    assert "X-Loyalty-Next" not in wpl["headers"]  # 1 row of 500: the last page
    name, rows = read_text(wpl["csv"])
    assert name == "wployalty"
    assert (rows[0].customer_id, rows[0].tier, rows[0].referral_code, rows[0].points) == ("27", "Gold", "REF-MC27B", 1200)
    assert '"2024-01-20 11:00:00"' in wpl["csv"]  # created_date, Unix seconds in the table

    ledger = out["ledger"]["csv"]
    assert ledger.count("\n") == 2  # the note's line break does not split the record
    name, rows = read_text(ledger)
    assert name == "wployalty_ledger"
    assert rows[0].txn.note == 'Redeemed 60 points for a "5,00 €" coupon'
    assert rows[0].txn.occurred_at == datetime(2024, 4, 1, 19, 33, 20, tzinfo=UTC)

    yith = out["yith"]
    assert "FROM wp_usermeta t LEFT JOIN wp_users u ON u.ID = t.user_id WHERE t.umeta_id > 0 AND " \
           "t.meta_key = '_ywpar_user_total_points' ORDER BY t.umeta_id ASC LIMIT 1" in yith["sql"][0]
    assert yith["csv"] == "id,email,points\n12,zoe.rossi@example.org,340\n"
    assert yith["headers"]["X-Loyalty-Next"] == "77"  # the meta row's id pages, not the user's

    mycred = out["mycred"]
    assert mycred["sql"][0].endswith("FROM wp_myCRED_log t LEFT JOIN wp_users u ON u.ID = t.user_id "
                                     "WHERE t.id > 40 AND t.ctype = 'gems' ORDER BY t.id ASC LIMIT 1000")
    assert mycred["csv"] == ",".join(EXPORT_COLUMNS[("mycred", "history")]) + "\n"

    assert out["broken"]["error"] == "loyalty_export_failed" and out["broken"]["status"] == 500  # not "the end"
    assert out["absent"] == {"error": "loyalty_export_absent", "status": 404, "sql": []}
    assert out["served"] == [[True, "id,email,points\n"], [False, ""]]
    assert out["route"] == ["wc-loyalty/v1", "/export/(?P<plugin>wc_points_rewards|wployalty|yith|mycred)", True,
                            ["kind", "after_id", "limit", "point_type"]]


def test_the_php_and_python_layouts_agree():
    """The route's columns (PHP) are EXPORT_COLUMNS (Python), plugin by plugin, kind by kind."""
    php = PLUGIN.read_text()
    for (plugin, kind), columns in EXPORT_COLUMNS.items():
        block = php.split(f"'{plugin}' => array(", 1)[1].split(f"'{kind}' => array(", 1)[1]
        listed = block.split("'columns' => array(", 1)[1].split(")", 1)[0]
        names = [part.split("=>")[0].strip().strip("'") for part in listed.split(",") if "=>" in part]
        assert tuple(names) == columns, (plugin, kind)
