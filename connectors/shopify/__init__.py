"""Shopify: webhook verification, payload translation, the Admin GraphQL client, install."""
