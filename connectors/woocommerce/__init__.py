"""WooCommerce: webhook signatures, order status mapping, the REST v3 client, the WP plugin."""
