"""Platform connectors (Shopify, WooCommerce): verify webhooks and app proxy requests, translate
payloads to neutral events, and call out as the adapters of the platform ports the services
declare in plugin_app.domain.ports. Connectors may import plugin_app.domain, nothing else of
the core; plugin_app.runtime chooses which adapter a shop gets."""
