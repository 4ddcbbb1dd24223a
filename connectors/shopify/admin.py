"""Shopify Admin GraphQL through Shopify's SDK (`shopify_app.admin_graphql_request`), which
retries 429s and 5xx itself. An injectable `httpx.Client` routes the SDK's requests elsewhere
(`--api-base-url`: a local stand-in), so the bytes on the wire are the SDK's own."""
from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
from shopify_app import admin_graphql_request

from plugin_app.domain.errors import PlatformError, PlatformUnavailable
from plugin_app.domain.ports import CatalogSource, PlatformActions, ShopAdmin, ShopifyOrderSource
from plugin_app.domain.catalog import Group, ProductFacts

WEBHOOK_TOPICS = ("CUSTOMERS_CREATE", "CUSTOMERS_UPDATE", "ORDERS_CREATE", "ORDERS_PAID",
                  "ORDERS_UPDATED", "ORDERS_CANCELLED", "REFUNDS_CREATE", "APP_UNINSTALLED",
                  "PRODUCTS_UPDATE", "PRODUCTS_DELETE", "COLLECTIONS_UPDATE", "COLLECTIONS_DELETE")


class ShopifyError(PlatformError):
    """Every error of this client. Services know it only as domain.errors.PlatformError (a
    refusal), and `Retryable` as domain.errors.PlatformUnavailable."""
    retryable = False


class Retryable(ShopifyError, PlatformUnavailable):
    """Throttled, a timeout, or Shopify's 5xx: try again later."""
    retryable = True


class Terminal(ShopifyError):
    """Bad credentials, missing scope, invalid input: retrying gives the same answer."""


class _Rewrite(httpx.BaseTransport):
    """Send every request to `base` (scheme, host, port), keeping path and query."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme=self.scheme, host=self.host, port=self.port)
        request.headers["Host"] = f"{self.host}:{self.port}" if self.port else self.host
        return self.inner.handle_request(request)


def http_client_for(api_base_url: str | None) -> httpx.Client | None:
    return httpx.Client(transport=_Rewrite(api_base_url), timeout=10.0) if api_base_url else None


@dataclass(frozen=True)
class ShopInfo:
    name: str
    currency: str
    timezone: str


class ShopifyAdmin(PlatformActions, CatalogSource, ShopAdmin, ShopifyOrderSource):
    """A shop's Admin API: implements the platform ports the services declare (domain.ports)."""

    def __init__(self, domain: str, access_token: str, api_version: str, *, client_id: str = "custom-app",
                 client_secret: str = "-", http_client: httpx.Client | None = None) -> None:
        self.shop = domain.removesuffix(".myshopify.com")
        self.token, self.version, self.http = access_token, api_version, http_client
        self.config = {"client_id": client_id, "client_secret": client_secret}

    def query(self, query: str, variables: dict | None = None) -> dict:
        result = admin_graphql_request(
            query, shop=self.shop, access_token=self.token, api_version=self.version,
            variables=variables, app_config=self.config, http_client=self.http, max_retries=2)
        status = result.response.status if result.response else 0
        if not result.ok:
            body = str(result.response.body if result.response else "")
            detail = f"{result.log.code}: {result.log.detail}" if result.log else "failed"
            if status == 429 or status >= 500 or status == 0 or "THROTTLED" in body:
                raise Retryable(f"{detail} {body[:200]}")
            raise Terminal(f"{detail} {body[:300]}")
        data = result.data or {}
        return data

    @staticmethod
    def _user_errors(payload: dict) -> None:
        errors = (payload or {}).get("userErrors") or []
        if errors:
            raise Terminal("; ".join(f"{'.'.join(e.get('field') or [])}: {e.get('message')}" for e in errors))

    # -- the shop ------------------------------------------------------------------------
    def shop_info(self) -> ShopInfo:
        shop = self.query("query ShopInfo { shop { name currencyCode ianaTimezone } }")["shop"]
        return ShopInfo(shop["name"], shop["currencyCode"], shop["ianaTimezone"])

    # -- webhooks ------------------------------------------------------------------------
    def subscriptions(self) -> dict[str, str]:
        """The shop-scoped subscriptions (the Admin API never lists the app-scoped ones that
        shopify.app.toml declares). `uri` replaces the deprecated `endpoint { callbackUrl }`."""
        data = self.query("""query Subs { webhookSubscriptions(first: 100) { nodes { id topic uri } } }""")
        return {n["topic"]: n.get("uri") or "" for n in data["webhookSubscriptions"]["nodes"]}

    def subscribe(self, callback_url: str, topics: tuple[str, ...] = WEBHOOK_TOPICS) -> list[str]:
        """Create the shop-scoped subscriptions that are missing (safe to run again); returns the
        new ones. Only for shops without app configuration (custom apps): a public app's topics
        come from shopify.app.toml, and subscribing them here too would deliver every event twice."""
        have = self.subscriptions()
        created = []
        for topic in topics:
            if have.get(topic) == callback_url:
                continue
            data = self.query("""mutation Sub($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
                webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
                  webhookSubscription { id topic uri } userErrors { field message } } }""",
                              {"topic": topic, "sub": {"uri": callback_url, "format": "JSON"}})
            self._user_errors(data["webhookSubscriptionCreate"])
            created.append(topic)
        return created

    # -- reading orders ------------------------------------------------------------------
    def orders_updated_since(self, since: str, after: str | None = None, first: int = 50) -> tuple[list[int], str | None]:
        """Ids of orders updated after `since` (ISO time), a page at a time (cursor)."""
        data = self.query("""query Orders($q: String!, $first: Int!, $after: String) {
            orders(first: $first, after: $after, query: $q, sortKey: UPDATED_AT) {
              nodes { legacyResourceId updatedAt } pageInfo { hasNextPage endCursor } } }""",
                          {"q": f"updated_at:>'{since}'", "first": first, "after": after})
        page = data["orders"]
        ids = [int(n["legacyResourceId"]) for n in page["nodes"]]
        return ids, page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None

    # subtotalPriceSet (after discounts, before shipping and taxes) and totalDiscountsSet let the
    # base agree with the order's own subtotal; currentQuantity follows order edits.
    ORDER_FIELDS = """legacyResourceId createdAt processedAt updatedAt cancelledAt test taxesIncluded discountCodes
        displayFinancialStatus displayFulfillmentStatus currencyCode customerLocale
        customer { legacyResourceId }
        totalTipReceivedSet { shopMoney { amount } }
        subtotalPriceSet { shopMoney { amount } }
        totalDiscountsSet { shopMoney { amount } }
        lineItems(first: 100) { nodes { id quantity currentQuantity isGiftCard title product { legacyResourceId }
          originalUnitPriceSet { shopMoney { amount } }
          discountAllocations { allocatedAmountSet { shopMoney { amount } } }
          taxLines { priceSet { shopMoney { amount } } } } }
        shippingLines(first: 10) { nodes { discountedPriceSet { shopMoney { amount } }
          discountAllocations { allocatedAmountSet { shopMoney { amount } } }
          taxLines { priceSet { shopMoney { amount } } } } }
        refunds { legacyResourceId refundLineItems(first: 100) { nodes { quantity lineItem { id } } } }"""

    def order(self, order_id: int | str) -> dict | None:
        """One order, GraphQL-shaped (translate.graphql_order reads it)."""
        data = self.query(f"query Order($id: ID!) {{ order(id: $id) {{ {self.ORDER_FIELDS} }} }}",
                          {"id": f"gid://shopify/Order/{order_id}"})
        return data.get("order")

    # -- products: what earning rules match on -------------------------------------------
    PRODUCT_FACTS = """query ProductFacts($ids: [ID!]!) { nodes(ids: $ids) {
        ... on Product { id legacyResourceId tags productType updatedAt
          collections(first: 50) { nodes { id legacyResourceId handle title } } } } }"""
    FACTS_BATCH = 15  # a product with collections(first: 50) costs about 52 points; a query may cost 1000

    def product_facts(self, product_ids: list[str]) -> dict[str, ProductFacts]:
        """Collections, tags and product type of each product, many per call (`nodes`). A
        product Shopify does not know (deleted) comes back with no facts. Throttling raises
        Retryable like every other call of this client."""
        from datetime import datetime

        out: dict[str, ProductFacts] = {}
        ids = [str(i) for i in product_ids if str(i).isdigit()]
        for start in range(0, len(ids), self.FACTS_BATCH):
            chunk = ids[start:start + self.FACTS_BATCH]
            data = self.query(self.PRODUCT_FACTS, {"ids": [f"gid://shopify/Product/{i}" for i in chunk]})
            for node in data.get("nodes") or []:
                if not node or not node.get("legacyResourceId"):
                    continue
                pid = str(node["legacyResourceId"])
                updated = node.get("updatedAt")
                out[pid] = ProductFacts(
                    pid, tuple(Group(str(c["legacyResourceId"]), c.get("handle") or "", c.get("title") or "",
                                     c.get("id") or "")
                               for c in (node.get("collections") or {}).get("nodes") or []),
                    tuple(node.get("tags") or ()), node.get("productType") or None,
                    datetime.fromisoformat(updated.replace("Z", "+00:00")) if updated else None)
            for pid in chunk:
                out.setdefault(pid, ProductFacts(pid))
        return out

    # -- discounts and store credit ------------------------------------------------------
    def create_discount_code(self, *, code: str, title: str, customer_id: str | None, ends_at: str,
                             amount: Decimal | None = None, percent: Decimal | None = None,
                             free_shipping: bool = False) -> str:
        """A one-use code locked to one customer (amount or percentage off, or free shipping)."""
        context = ({"customers": {"add": [f"gid://shopify/Customer/{customer_id}"]}} if customer_id
                   else {"all": "ALL"})  # a friend's welcome code before we know the friend
        starts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if free_shipping:
            data = self.query("""mutation FreeShip($d: DiscountCodeFreeShippingInput!) {
                discountCodeFreeShippingCreate(freeShippingCodeDiscount: $d) {
                  codeDiscountNode { id } userErrors { field code message } } }""",
                              {"d": {"title": title, "code": code, "startsAt": starts, "endsAt": ends_at,
                                     "usageLimit": 1, "appliesOncePerCustomer": True, "context": context,
                                     "destination": {"all": True}}})
            payload = data["discountCodeFreeShippingCreate"]
        else:
            value = ({"percentage": float(percent) / 100} if percent is not None
                     else {"discountAmount": {"amount": str(amount), "appliesOnEachItem": False}})
            data = self.query("""mutation Code($d: DiscountCodeBasicInput!) {
                discountCodeBasicCreate(basicCodeDiscount: $d) {
                  codeDiscountNode { id } userErrors { field code message } } }""",
                              {"d": {"title": title, "code": code, "startsAt": starts, "endsAt": ends_at,
                                     "usageLimit": 1, "appliesOncePerCustomer": True, "context": context,
                                     "customerGets": {"value": value, "items": {"all": True}},
                                     "combinesWith": {"orderDiscounts": False, "productDiscounts": False,
                                                      "shippingDiscounts": True}}})
            payload = data["discountCodeBasicCreate"]
        self._user_errors(payload)
        return payload["codeDiscountNode"]["id"]

    METAFIELDS_SET = """mutation SetLoyaltyFields($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) { metafields { key namespace value } userErrors { field message code } }
}"""

    def set_customer_fields(self, customers: list[tuple[str, dict[str, str]]]) -> int:
        """Write loyalty fields (tier, points, credit) as customer metafields in the `loyalty`
        namespace, at most 25 metafields per call (the mutation's limit; each call is atomic)."""
        metafields = [{"ownerId": f"gid://shopify/Customer/{cid}", "namespace": "loyalty", "key": key,
                       "type": "number_integer" if key == "points" else "single_line_text_field", "value": value}
                      for cid, fields in customers for key, value in fields.items()]
        written = 0
        for start in range(0, len(metafields), 25):
            chunk = metafields[start:start + 25]
            payload = self.query(self.METAFIELDS_SET, {"metafields": chunk}).get("metafieldsSet") or {}
            self._user_errors(payload)
            written += len(chunk)
        return written

    def delete_discount(self, discount_id: str) -> None:
        data = self.query("""mutation Del($id: ID!) { discountCodeDelete(id: $id) {
            deletedCodeDiscountId userErrors { field code message } } }""", {"id": discount_id})
        self._user_errors(data["discountCodeDelete"])

    def discount_usage(self, discount_id: str) -> int | None:
        """The code discount's `asyncUsageCount` (orders placed with it; Shopify updates it
        asynchronously, so this is asked long after the code expired); None when it is gone."""
        data = self.query("""query Usage($id: ID!) { codeDiscountNode(id: $id) { id codeDiscount { __typename
            ... on DiscountCodeBasic { asyncUsageCount } ... on DiscountCodeFreeShipping { asyncUsageCount } } } }""",
                          {"id": discount_id})
        node = data.get("codeDiscountNode")
        if node is None:
            return None
        return int((node.get("codeDiscount") or {}).get("asyncUsageCount") or 0)

    def flow_trigger(self, handle: str, payload: dict) -> None:
        """Start the shop's workflows that begin with our Flow trigger `handle`
        (https://shopify.dev/docs/api/admin-graphql/latest/mutations/flowTriggerReceive; the
        payload's shape: https://shopify.dev/docs/apps/build/flow/triggers/reference). A userError
        (an unknown handle, a missing field) is Terminal; throttling and 5xx are Retryable."""
        data = self.query("""mutation FlowTrigger($handle: String, $payload: JSON) {
            flowTriggerReceive(handle: $handle, payload: $payload) { userErrors { field message } } }""",
                          {"handle": handle, "payload": payload})
        self._user_errors(data.get("flowTriggerReceive") or {})

    def store_credit(self, customer_id: str, amount: Decimal, currency: str, *,
                     expires_at: str | None = None) -> str:
        """Credit (amount > 0) or debit (amount < 0) the customer's Shopify store credit."""
        owner = f"gid://shopify/Customer/{customer_id}"
        money = {"amount": str(abs(amount)), "currencyCode": currency}
        if amount > 0:
            data = self.query("""mutation Credit($id: ID!, $c: StoreCreditAccountCreditInput!) {
                storeCreditAccountCredit(id: $id, creditInput: $c) {
                  storeCreditAccountTransaction { amount { amount currencyCode } }
                  userErrors { field code message } } }""",
                              {"id": owner, "c": {"creditAmount": money, **({"expiresAt": expires_at} if expires_at else {})}})
            payload = data["storeCreditAccountCredit"]
        else:
            data = self.query("""mutation Debit($id: ID!, $d: StoreCreditAccountDebitInput!) {
                storeCreditAccountDebit(id: $id, debitInput: $d) {
                  storeCreditAccountTransaction { amount { amount currencyCode } }
                  userErrors { field code message } } }""", {"id": owner, "d": {"debitAmount": money}})
            payload = data["storeCreditAccountDebit"]
        self._user_errors(payload)
        return payload["storeCreditAccountTransaction"]["amount"]["amount"]
