"""Shopify: webhook and app proxy verification, payload translation, the Admin GraphQL client
(the platform ports' adapter), install."""
