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
