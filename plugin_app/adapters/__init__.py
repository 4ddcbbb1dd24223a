"""Adapters: the product's own implementations of the ports in plugin_app.domain.ports that are
not a shop's platform (those are the connectors): mail over SMTP, webhooks over HTTP, and the
demo shops' local discount codes, each with a stand-in (null or recording) for deployments
without the service and for tests. Only the composition root (plugin_app.runtime) picks them;
services see the ports only."""
