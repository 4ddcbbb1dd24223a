<?php
/**
 * Plugin Name: Loyalty Widget
 * Description: Shows the loyalty widget on the store and tells it who the logged-in customer is,
 *              with a token signed here, on the server, with the shop's widget secret.
 * Version:     0.1.0
 * License:     MIT
 * Requires PHP: 7.4
 */

if (!defined('ABSPATH')) {
    exit;
}

const LOYALTY_WIDGET_OPTION = 'loyalty_widget_settings';

/** The settings: where the backend is, which shop this is, and the secret that signs tokens. */
function loyalty_widget_settings(): array
{
    $saved = get_option(LOYALTY_WIDGET_OPTION, array());
    return wp_parse_args(is_array($saved) ? $saved : array(), array(
        'backend_url' => '',
        'shop_id' => '',
        'widget_key' => '',
        'widget_secret' => '',
        'join_url' => '',
    ));
}

/**
 * Where the panel's "Create an account" goes: the setting, else WooCommerce's My account page
 * (wc_get_page_permalink('myaccount'), includes/wc-page-functions.php: its login form carries the
 * registration form when "Allow customers to create an account" is on), else WordPress's own.
 */
function loyalty_widget_join_url(array $settings): string
{
    if ($settings['join_url'] !== '') {
        return $settings['join_url'];
    }
    if (function_exists('wc_get_page_permalink')) {
        return wc_get_page_permalink('myaccount');
    }
    return function_exists('wp_registration_url') ? wp_registration_url() : '/my-account/';
}

function loyalty_widget_b64url(string $value): string
{
    return rtrim(strtr(base64_encode($value), '+/', '-_'), '=');
}

/**
 * v1.<shop_id>.<base64url customer id>.<expiry>.<hex HMAC-SHA256 of everything before the last dot>
 * The backend checks it with the same secret; the browser never chooses who the customer is.
 */
function loyalty_widget_token(array $settings, int $customer_id, int $ttl = 3600): string
{
    $payload = sprintf(
        'v1.%d.%s.%d',
        (int) $settings['shop_id'],
        loyalty_widget_b64url((string) $customer_id),
        time() + $ttl
    );
    return $payload . '.' . hash_hmac('sha256', $payload, (string) $settings['widget_secret']);
}

add_action('wp_enqueue_scripts', function () {
    $settings = loyalty_widget_settings();
    if ($settings['backend_url'] === '' || $settings['widget_key'] === '') {
        return;
    }
    $backend = untrailingslashit(esc_url_raw($settings['backend_url']));
    wp_enqueue_script('loyalty-widget', $backend . '/widgets/loyalty.js', array(), '0.1.0', true);
    $config = array(
        'api' => $backend,  // panel.js adds /storefront/v1/
        'shop' => $settings['widget_key'],
        'token' => null,
        'joinUrl' => loyalty_widget_join_url($settings),
        // The shopper's language: determine_locale() (WordPress 5.0+) is the locale this request
        // renders in (the site's, a signed-in user's own, or ?wp_lang=), else get_locale().
        // https://developer.wordpress.org/reference/functions/determine_locale/
        // The widget sends it as ?locale=; the backend keeps the language ('it_IT' -> 'it').
        'locale' => function_exists('determine_locale') ? determine_locale() : get_locale(),
    );
    $user_id = get_current_user_id();
    if ($user_id > 0 && $settings['widget_secret'] !== '' && $settings['shop_id'] !== '') {
        $config['token'] = loyalty_widget_token($settings, $user_id);
    }
    $config = array_merge($config, loyalty_widget_cart_config());
    wp_add_inline_script('loyalty-widget', 'window.LoyaltyConfig = ' . wp_json_encode($config) . ';', 'before');
});

/**
 * On the cart and checkout pages only: what the cart widget needs to read the cart and apply a
 * reward code the way WooCommerce's own cart does.
 * - Both kinds of cart are read through the Store API (`GET /wp-json/wc/store/v1/cart`).
 * - Cart and Checkout blocks (the default since WooCommerce 8.3): codes go through
 *   `POST /wp-json/wc/store/v1/cart/apply-coupon` and `remove-coupon` with the `Nonce` header,
 *   made with wp_create_nonce('wc_store_api') (src/StoreApi/docs/nonce-tokens.md).
 * - Classic cart/checkout (shortcodes): `?wc-ajax=apply_coupon` / `remove_coupon` with the
 *   `security` nonces the classic cart.js uses (actions 'apply-coupon' / 'remove-coupon').
 * The widget goes in the theme's cart totals: `cartSelector` for the blocks (rendered by React,
 * re-created when they re-render); for the classic cart a mount point printed by the hooks below.
 */
function loyalty_widget_cart_config(): array
{
    if (!function_exists('is_cart') || !(is_cart() || is_checkout())) {
        return array();
    }
    $page_id = is_cart() ? wc_get_page_id('cart') : wc_get_page_id('checkout');
    $blocks = function_exists('has_block') && (has_block('woocommerce/cart', $page_id) || has_block('woocommerce/checkout', $page_id));
    $config = array(
        'platform' => 'woocommerce',
        'cartMode' => $blocks ? 'blocks' : 'classic',
        'storeApi' => esc_url_raw(rest_url('wc/store/v1/')),
        'storeNonce' => wp_create_nonce('wc_store_api'),
    );
    if ($blocks) {
        $config['cartSelector'] = '.wp-block-woocommerce-cart-totals-block, .wp-block-woocommerce-checkout-totals-block';
    } else {
        $config['wcAjax'] = WC_AJAX::get_endpoint('%%endpoint%%');
        $config['applyNonce'] = wp_create_nonce('apply-coupon');
        $config['removeNonce'] = wp_create_nonce('remove-coupon');
    }
    return $config;
}

/** The classic cart's mount point: in .cart-collaterals, which the cart's AJAX updates leave in place. */
function loyalty_widget_cart_mount(): void
{
    echo '<div data-loyalty-cart></div>';
}
add_action('woocommerce_cart_collaterals', 'loyalty_widget_cart_mount', 5);
add_action('woocommerce_checkout_before_order_review', 'loyalty_widget_cart_mount', 5);

/**
 * The shopper's language for their loyalty e-mails. WooCommerce's REST customer and order carry
 * none: WordPress keeps a user's chosen language in the `locale` user meta (what get_user_locale()
 * reads; empty when the user follows the site's language), and WooCommerce leaves that key out
 * of the customer's `meta_data`. So customer.* and order.* deliveries get it as `loyalty_locale`
 * through the `woocommerce_webhook_payload` filter (WC_Webhook::build_payload), which runs before
 * WooCommerce signs the body. Empty (the site's language) is not sent: the shop's applies.
 */
function loyalty_widget_user_locale(int $user_id): string
{
    return $user_id > 0 ? (string) get_user_meta($user_id, 'locale', true) : '';
}

/**
 * Exclusive offers and early access: the user's tier and segments as the backend's customer-fields
 * sync last wrote them (user meta `loyalty_tier`, the tier's name, and `loyalty_segments`, segment
 * handles comma-separated). For a theme or another plugin:
 * `if (function_exists('loyalty_member_in_segment') && loyalty_member_in_segment('vip')) { ... }`,
 * or in content: [loyalty_only segment="vip"]...[/loyalty_only], [loyalty_only tier="Gold"]...
 * The current user when $user_id is 0; a guest is in no segment and no tier.
 */
function loyalty_member_in_segment(string $handle, int $user_id = 0): bool
{
    $user_id = $user_id > 0 ? $user_id : get_current_user_id();
    if ($user_id <= 0) {
        return false;
    }
    $handles = array_map('trim', explode(',', (string) get_user_meta($user_id, 'loyalty_segments', true)));
    return $handle !== '' && in_array(strtolower($handle), $handles, true);
}

function loyalty_member_tier(int $user_id = 0): string
{
    $user_id = $user_id > 0 ? $user_id : get_current_user_id();
    return $user_id > 0 ? (string) get_user_meta($user_id, 'loyalty_tier', true) : '';
}

add_shortcode('loyalty_only', function ($atts, $content = '') {
    $atts = shortcode_atts(array('segment' => '', 'tier' => ''), $atts, 'loyalty_only');
    $segment = (string) $atts['segment'];
    $tier = (string) $atts['tier'];
    if ($segment === '' && $tier === '') {
        return '';
    }
    $ok = ($segment === '' || loyalty_member_in_segment($segment))
        && ($tier === '' || strcasecmp(loyalty_member_tier(), $tier) === 0);
    return $ok ? do_shortcode((string) $content) : '';
});

add_filter('woocommerce_webhook_payload', function ($payload, $resource, $resource_id) {
    if (!is_array($payload) || empty($payload['id'])) {
        return $payload;  // a deleted resource: {id} only
    }
    $user_id = 0;
    if ($resource === 'customer') {
        $user_id = (int) $resource_id;
    } elseif ($resource === 'order') {
        $user_id = (int) ($payload['customer_id'] ?? 0);
    }
    $locale = loyalty_widget_user_locale($user_id);
    if ($locale !== '') {
        $payload['loyalty_locale'] = $locale;
    }
    return $payload;
}, 10, 3);

add_action('admin_menu', function () {
    add_options_page('Loyalty', 'Loyalty', 'manage_options', 'loyalty-widget', 'loyalty_widget_settings_page');
});

add_action('admin_init', function () {
    register_setting('loyalty_widget', LOYALTY_WIDGET_OPTION, array(
        'type' => 'array',
        'sanitize_callback' => function ($input) {
            $input = is_array($input) ? $input : array();
            return array(
                'backend_url' => esc_url_raw($input['backend_url'] ?? ''),
                'shop_id' => preg_replace('/\D/', '', (string) ($input['shop_id'] ?? '')),
                'widget_key' => sanitize_text_field($input['widget_key'] ?? ''),
                'widget_secret' => sanitize_text_field($input['widget_secret'] ?? ''),
                'join_url' => esc_url_raw($input['join_url'] ?? ''),
            );
        },
    ));
});

function loyalty_widget_settings_page(): void
{
    if (!current_user_can('manage_options')) {
        return;
    }
    $settings = loyalty_widget_settings();
    $fields = array(
        'backend_url' => 'Backend URL',
        'shop_id' => 'Shop id',
        'widget_key' => 'Widget key',
        'widget_secret' => 'Widget secret',
        'join_url' => 'Sign-up page (optional; default: My account)',
    );
    echo '<div class="wrap"><h1>Loyalty</h1><form method="post" action="options.php">';
    settings_fields('loyalty_widget');
    echo '<table class="form-table">';
    foreach ($fields as $name => $label) {
        $type = $name === 'widget_secret' ? 'password' : 'text';
        printf(
            '<tr><th><label for="%1$s">%2$s</label></th><td><input class="regular-text" type="%3$s" id="%1$s" name="%4$s[%1$s]" value="%5$s"></td></tr>',
            esc_attr($name),
            esc_html($label),
            esc_attr($type),
            esc_attr(LOYALTY_WIDGET_OPTION),
            esc_attr($settings[$name])
        );
    }
    echo '</table>';
    submit_button();
    echo '</form><p>Find the shop id, widget key and secret under the loyalty admin: Storefront.</p></div>';
}

/*
 * Switching in: the loyalty plugin the merchant leaves, read where it runs.
 *
 * GET /wp-json/wc-loyalty/v1/export/<plugin>?kind=balances|history&after_id=0&limit=500
 *     plugin: wc_points_rewards | wployalty | yith | mycred  (point_type= for myCRED, default
 *     mycred_default)
 * answers text/csv: a header row and up to `limit` rows in the layouts the backend reads
 * (plugin_app/domain/import_formats_woo.py, EXPORT_COLUMNS), ordered by the table's id. When the
 * page is full, `X-Loyalty-Next` carries the `after_id` of the next page (keyset paging: no
 * OFFSET, so a page costs the same at row 10 and at row 1,000,000). 404 JSON when the plugin's
 * table is not there (never installed, or removed with its data).
 *
 * Authentication: the namespace starts with `wc-`, so WooCommerce authenticates it with the
 * shop's REST API keys the backend already holds (WC_REST_Authentication::is_request_to_rest_api,
 * includes/class-wc-rest-authentication.php: "Allow third party plugins use our authentication
 * methods" for `wc-` prefixed routes) — OAuth 1.0a over http, Basic over https; the key's user
 * must be able to manage_woocommerce. Read-only: a "read" key is enough.
 *
 * The tables, as each plugin creates them:
 * - WooCommerce Points & Rewards: <prefix>wc_points_rewards_user_points (id, user_id, points,
 *   points_balance, order_id, date) and <prefix>wc_points_rewards_user_points_log (id, user_id,
 *   points, type, user_points_id, order_id, admin_user_id, data, date): the plugin's main file
 *   woocommerce-points-and-rewards.php documents both; dates are current_time('mysql', 1), UTC.
 * - WPLoyalty: <prefix>wlr_users (App/Models/Users.php; keyed by user_email, Unix dates),
 *   <prefix>wlr_levels (App/Models/Levels.php, `name`), <prefix>wlr_points_ledger
 *   (App/Models/PointsLedger.php: credit_points, debit_points, created_at Unix).
 * - YITH Points and Rewards: the `_ywpar_user_total_points` user meta (what its own export reads,
 *   YITH_WC_Points_Rewards_Porting::export) and <prefix>yith_ywpar_points_log.
 * - myCRED: <prefix>myCRED_log, or the MYCRED_LOG_TABLE constant (codex.mycred.me/chapter-i/the-log/),
 *   and balances in user meta under the point type's key.
 * Unix times are written as 'YYYY-MM-DD HH:MM:SS' UTC, like the others.
 */
const LOYALTY_EXPORT_NAMESPACE = 'wc-loyalty/v1';
const LOYALTY_EXPORT_MAX = 1000;

/**
 * Where each plugin keeps what: per plugin and kind, the table (`table`, without the prefix, or
 * `meta` for wp_usermeta), the table whose presence says the plugin is there (`marker`), the
 * paging key, how the WordPress user is joined, an extra condition, and the CSV columns, each
 * read from a field of the row (`t.*`, plus `wp_user_id`, `wp_user_email`, `level_name`).
 */
function loyalty_export_sources(): array
{
    $by_id = 'u.ID = t.user_id';
    $by_email = 'u.user_email = t.user_email';
    return array(
        'wc_points_rewards' => array(
            'balances' => array(
                'table' => 'wc_points_rewards_user_points', 'marker' => 'wc_points_rewards_user_points',
                'key' => 'id', 'join' => $by_id, 'where' => 't.points_balance <> 0',
                'columns' => array('id' => 'id', 'user_id' => 'user_id', 'user_email' => 'wp_user_email',
                    'points' => 'points', 'points_balance' => 'points_balance', 'order_id' => 'order_id',
                    'date' => 'date'),
            ),
            'history' => array(
                'table' => 'wc_points_rewards_user_points_log', 'marker' => 'wc_points_rewards_user_points_log',
                'key' => 'id', 'join' => $by_id,
                'columns' => array('id' => 'id', 'user_id' => 'user_id', 'user_email' => 'wp_user_email',
                    'points' => 'points', 'type' => 'type', 'user_points_id' => 'user_points_id',
                    'order_id' => 'order_id', 'admin_user_id' => 'admin_user_id', 'date' => 'date'),
            ),
        ),
        'wployalty' => array(
            'balances' => array(
                'table' => 'wlr_users', 'marker' => 'wlr_users', 'key' => 'id', 'join' => $by_email,
                'levels' => true, 'unix' => array('created_date'),
                'columns' => array('id' => 'id', 'user_id' => 'wp_user_id', 'user_email' => 'user_email',
                    'refer_code' => 'refer_code', 'points' => 'points', 'used_total_points' => 'used_total_points',
                    'earn_total_point' => 'earn_total_point', 'level_id' => 'level_id', 'level_name' => 'level_name',
                    'birth_date' => 'birth_date', 'birthday_date' => 'birthday_date',
                    'created_date' => 'created_date', 'is_banned_user' => 'is_banned_user'),
            ),
            'history' => array(
                'table' => 'wlr_points_ledger', 'marker' => 'wlr_points_ledger', 'key' => 'id', 'join' => $by_email,
                'unix' => array('created_at'),
                'columns' => array('id' => 'id', 'user_id' => 'wp_user_id', 'user_email' => 'user_email',
                    'action_type' => 'action_type', 'action_process_type' => 'action_process_type',
                    'credit_points' => 'credit_points', 'debit_points' => 'debit_points', 'note' => 'note',
                    'created_at' => 'created_at'),
            ),
        ),
        'yith' => array(
            'balances' => array(
                'table' => 'meta', 'marker' => 'yith_ywpar_points_log', 'key' => 'umeta_id', 'join' => $by_id,
                'meta_key' => '_ywpar_user_total_points',
                'columns' => array('id' => 'wp_user_id', 'email' => 'wp_user_email', 'points' => 'meta_value'),
            ),
            'history' => array(
                'table' => 'yith_ywpar_points_log', 'marker' => 'yith_ywpar_points_log', 'key' => 'id', 'join' => $by_id,
                'columns' => array('id' => 'id', 'user_id' => 'user_id', 'user_email' => 'wp_user_email',
                    'action' => 'action', 'order_id' => 'order_id', 'amount' => 'amount',
                    'date_earning' => 'date_earning', 'cancelled' => 'cancelled', 'description' => 'description'),
            ),
        ),
        'mycred' => array(
            'balances' => array(
                'table' => 'meta', 'marker' => 'myCRED_log', 'key' => 'umeta_id', 'join' => $by_id,
                'meta_key' => '%point_type%',
                'columns' => array('user_id' => 'wp_user_id', 'user_email' => 'wp_user_email', 'ctype' => 'meta_key',
                    'balance' => 'meta_value'),
            ),
            'history' => array(
                'table' => 'myCRED_log', 'marker' => 'myCRED_log', 'key' => 'id', 'join' => $by_id,
                'where_ctype' => true, 'unix' => array('time'),
                'columns' => array('id' => 'id', 'ref' => 'ref', 'ref_id' => 'ref_id', 'user_id' => 'user_id',
                    'user_email' => 'wp_user_email', 'creds' => 'creds', 'ctype' => 'ctype', 'time' => 'time',
                    'entry' => 'entry'),
            ),
        ),
    );
}

/** The full name of a plugin's table: the site's prefix, except myCRED's own constant. */
function loyalty_export_table($wpdb, string $name): string
{
    if ($name === 'myCRED_log' && defined('MYCRED_LOG_TABLE')) {
        return (string) constant('MYCRED_LOG_TABLE');
    }
    return $wpdb->prefix . $name;
}

function loyalty_export_table_exists($wpdb, string $table): bool
{
    return $wpdb->get_var($wpdb->prepare('SHOW TABLES LIKE %s', $wpdb->esc_like($table))) === $table;
}

/**
 * One page of a plugin's table: array('columns' => [...], 'rows' => [[...]], 'next' => int|null),
 * or a WP_Error (404 when the plugin's table is not there, 400 for an unknown plugin or kind).
 */
function loyalty_export_page($wpdb, string $plugin, string $kind, int $after_id, int $limit, string $point_type = 'mycred_default')
{
    $sources = loyalty_export_sources();
    if (!isset($sources[$plugin][$kind])) {
        return new WP_Error('loyalty_export_unknown', 'No such plugin or kind.', array('status' => 400));
    }
    $spec = $sources[$plugin][$kind];
    if (!loyalty_export_table_exists($wpdb, loyalty_export_table($wpdb, $spec['marker']))) {
        return new WP_Error('loyalty_export_absent', sprintf('The %s tables are not in this database.', $plugin),
            array('status' => 404));
    }
    $after_id = max(0, $after_id);
    $limit = min(LOYALTY_EXPORT_MAX, max(1, $limit));
    $select = 't.*, u.ID AS wp_user_id, u.user_email AS wp_user_email';
    $from = ($spec['table'] === 'meta' ? $wpdb->usermeta : loyalty_export_table($wpdb, $spec['table'])) . ' t';
    $from .= " LEFT JOIN {$wpdb->users} u ON {$spec['join']}";
    if (!empty($spec['levels'])) {
        $levels = loyalty_export_table($wpdb, 'wlr_levels');
        if (loyalty_export_table_exists($wpdb, $levels)) {
            $select .= ', lv.name AS level_name';
            $from .= " LEFT JOIN {$levels} lv ON lv.id = t.level_id";
        }
    }
    $where = array("t.{$spec['key']} > %d");
    $args = array($after_id);
    if (isset($spec['meta_key'])) {
        $where[] = 't.meta_key = %s';
        $args[] = $spec['meta_key'] === '%point_type%' ? $point_type : $spec['meta_key'];
    }
    if (!empty($spec['where_ctype'])) {
        $where[] = 't.ctype = %s';
        $args[] = $point_type;
    }
    if (!empty($spec['where'])) {
        $where[] = $spec['where'];
    }
    $args[] = $limit;
    $sql = "SELECT {$select} FROM {$from} WHERE " . implode(' AND ', $where)
        . " ORDER BY t.{$spec['key']} ASC LIMIT %d";
    $found = $wpdb->get_results($wpdb->prepare($sql, $args), ARRAY_A);  // phpcs:ignore WordPress.DB
    if (!is_array($found) || (string) $wpdb->last_error !== '') {
        // Not an empty page: the caller would take it for the end of the table.
        return new WP_Error('loyalty_export_failed', 'The table could not be read: ' . $wpdb->last_error,
            array('status' => 500));
    }
    $rows = array();
    $unix = $spec['unix'] ?? array();
    foreach ($found as $record) {
        $row = array();
        foreach ($spec['columns'] as $column => $field) {
            $value = $record[$field] ?? '';
            if (in_array($column, $unix, true)) {
                $value = ((int) $value) > 0 ? gmdate('Y-m-d H:i:s', (int) $value) : '';
            }
            // One record a line: WordPress text (notes, log entries) may hold line breaks.
            $row[] = preg_replace('/[\r\n]+/', ' ', (string) $value);
        }
        $rows[] = $row;
    }
    $next = count($found) === $limit ? (int) $found[count($found) - 1][$spec['key']] : null;
    return array('columns' => array_keys($spec['columns']), 'rows' => $rows, 'next' => $next);
}

/** RFC 4180 CSV text (fputcsv with no escape character, PHP 7.4+). */
function loyalty_export_csv(array $columns, array $rows): string
{
    $out = fopen('php://temp', 'w+');
    fputcsv($out, $columns, ',', '"', '');
    foreach ($rows as $row) {
        fputcsv($out, $row, ',', '"', '');
    }
    rewind($out);
    $text = stream_get_contents($out);
    fclose($out);
    return (string) $text;
}

/** The route's callback. */
function loyalty_export_handle($request)
{
    global $wpdb;
    $page = loyalty_export_page(
        $wpdb,
        (string) $request->get_param('plugin'),
        (string) ($request->get_param('kind') ?? 'balances'),
        (int) ($request->get_param('after_id') ?? 0),
        (int) ($request->get_param('limit') ?? 500),
        (string) ($request->get_param('point_type') ?? 'mycred_default')
    );
    if ($page instanceof WP_Error) {
        return $page;
    }
    $response = new WP_REST_Response(loyalty_export_csv($page['columns'], $page['rows']), 200);
    $response->header('Content-Type', 'text/csv; charset=utf-8');
    if ($page['next'] !== null) {
        $response->header('X-Loyalty-Next', (string) $page['next']);
    }
    return $response;
}

add_action('rest_api_init', function () {
    register_rest_route(LOYALTY_EXPORT_NAMESPACE, '/export/(?P<plugin>wc_points_rewards|wployalty|yith|mycred)', array(
        'methods' => 'GET',
        'callback' => 'loyalty_export_handle',
        'permission_callback' => function () {
            return current_user_can('manage_woocommerce');
        },
        'args' => array(
            'kind' => array('type' => 'string', 'enum' => array('balances', 'history'), 'default' => 'balances',
                'validate_callback' => 'rest_validate_request_arg'),
            'after_id' => array('type' => 'integer', 'minimum' => 0, 'default' => 0,
                'validate_callback' => 'rest_validate_request_arg'),
            'limit' => array('type' => 'integer', 'minimum' => 1, 'maximum' => LOYALTY_EXPORT_MAX, 'default' => 500,
                'validate_callback' => 'rest_validate_request_arg'),
            'point_type' => array('type' => 'string', 'pattern' => '^[A-Za-z0-9_-]{1,64}$', 'default' => 'mycred_default',
                'validate_callback' => 'rest_validate_request_arg'),
        ),
    ));
});

/**
 * Send the export as CSV, not as a JSON string: WP_REST_Server::serve_request has already sent
 * the response's headers (Content-Type, X-Loyalty-Next) and status when it asks
 * `rest_pre_serve_request` whether the request is served (wp-includes/rest-api/class-wp-rest-server.php).
 */
add_filter('rest_pre_serve_request', function ($served, $result, $request) {
    if ($served || !is_object($request) || strpos((string) $request->get_route(), '/' . LOYALTY_EXPORT_NAMESPACE . '/export/') !== 0) {
        return $served;
    }
    if (!is_object($result) || $result->get_status() !== 200 || !is_string($result->get_data())) {
        return $served;  // errors go out as WordPress's JSON
    }
    echo $result->get_data();  // phpcs:ignore WordPress.Security.EscapeOutput -- CSV, not HTML
    return true;
}, 10, 3);
