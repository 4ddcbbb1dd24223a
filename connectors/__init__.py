"""Platform connectors (Shopify, WooCommerce): verify, translate to neutral events, call out."""
