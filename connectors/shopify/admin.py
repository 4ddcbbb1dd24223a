"""Shopify Admin GraphQL through Shopify's SDK (`shopify_app.admin_graphql_request`), which
retries 429s and 5xx itself. An injectable `httpx.Client` routes the SDK's requests elsewhere
(`--api-base-url`: a local stand-in), so the bytes on the wire are the SDK's own."""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
from shopify_app import admin_graphql_request

from plugin_app.domain import customer_tags
from plugin_app.domain.errors import PlatformError, PlatformUnavailable
from plugin_app.domain.ports import (CatalogSource, CustomerDirectory, PlatformActions, PlatformCustomer, ShopAdmin,
                                     ShopifyOrderSource, StoreCreditAccounts)
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


class ShopifyAdmin(PlatformActions, CatalogSource, ShopAdmin, ShopifyOrderSource, StoreCreditAccounts,
                   CustomerDirectory):
    """A shop's Admin API: implements the platform ports the services declare (domain.ports)."""

    def __init__(self, domain: str, access_token: str, api_version: str, *, client_id: str = "custom-app",
                 client_secret: str = "-", http_client: httpx.Client | None = None) -> None:
        self.shop = domain.removesuffix(".myshopify.com")
        self.token, self.version, self.http = access_token, api_version, http_client
        self.config = {"client_id": client_id, "client_secret": client_secret}

    def query(self, query: str, variables: dict | None = None, *, retries: int = 2) -> dict:
        """`retries`: how many times the SDK repeats a 429 or 5xx by itself. 0 for a mutation that
        is not idempotent (store credit): a 5xx may come after Shopify applied it."""
        result = admin_graphql_request(
            query, shop=self.shop, access_token=self.token, api_version=self.version,
            variables=variables, app_config=self.config, http_client=self.http, max_retries=retries)
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

    # -- history: past orders through a bulk operation (services.backfill) ---------------
    # https://shopify.dev/docs/api/usage/bulk-operations/queries: one top-level connection, up
    # to five connections nested at most two levels; the result is a JSONL file at the
    # operation's `url`, one object per line, an object of a nested connection on a line of its
    # own with `__parentId` (its parent's id). `groupObjects: true` keeps each order's children
    # directly below it: from 2026-01 the default is false, children anywhere after their parent
    # (https://shopify.dev/changelog/bulk-operations-group-objects-default-changed-to-false), and
    # reading the file an order at a time needs them grouped. Refunds are a list field, and their
    # lines a connection under it: only their ids are read here, and a refunded order is read
    # again through `order` (the query reconciliation uses) for its refund lines.
    BULK_ORDERS = """{ orders(query: "%s", sortKey: CREATED_AT) { edges { node {
        id legacyResourceId createdAt processedAt updatedAt cancelledAt test taxesIncluded discountCodes
        displayFinancialStatus displayFulfillmentStatus currencyCode customerLocale email
        customer { legacyResourceId }
        totalTipReceivedSet { shopMoney { amount } }
        subtotalPriceSet { shopMoney { amount } }
        totalDiscountsSet { shopMoney { amount } }
        totalTaxSet { shopMoney { amount } }
        totalShippingPriceSet { shopMoney { amount } }
        totalPriceSet { shopMoney { amount } }
        refunds { legacyResourceId }
        lineItems { edges { node { __typename id quantity currentQuantity isGiftCard title
          product { legacyResourceId }
          originalUnitPriceSet { shopMoney { amount } }
          discountAllocations { allocatedAmountSet { shopMoney { amount } } }
          taxLines { priceSet { shopMoney { amount } } } } } }
        shippingLines { edges { node { __typename id discountedPriceSet { shopMoney { amount } }
          discountAllocations { allocatedAmountSet { shopMoney { amount } } }
          taxLines { priceSet { shopMoney { amount } } } } } } } } } }"""
    BULK_RUN = """mutation BulkOrders($query: String!) {
        bulkOperationRunQuery(query: $query, groupObjects: true) {
          bulkOperation { id status } userErrors { field message code } } }"""
    # BulkOperation implements Node: `node(id:)` reads this very operation (currentBulkOperation
    # is the app's most recent one, deprecated in newer versions, and from 2026-01 several may run:
    # https://shopify.dev/docs/api/admin-graphql/latest/queries/currentBulkOperation).
    BULK_POLL = """query BulkPoll($id: ID!) { node(id: $id) { ... on BulkOperation {
        id status errorCode objectCount rootObjectCount fileSize url partialDataUrl } } }"""

    def start_orders_export(self, since: str | None) -> dict:
        """Start a bulk export of the orders created on or after `since` (YYYY-MM-DD; None: all).
        Returns the operation ({"id", "status"})."""
        search = f"created_at:>={since}" if since else ""
        data = self.query(self.BULK_RUN, {"query": self.BULK_ORDERS % search}, retries=0)
        payload = data["bulkOperationRunQuery"]
        # OPERATION_IN_PROGRESS ("A bulk operation is already in progress") and LIMIT_REACHED
        # ("Bulk operations limit reached. Please try again later"): later may work
        # (https://shopify.dev/docs/api/admin-graphql/latest/enums/BulkOperationUserErrorCode).
        busy = [e for e in payload.get("userErrors") or [] if e.get("code") in ("OPERATION_IN_PROGRESS", "LIMIT_REACHED")]
        if busy:
            raise Retryable("; ".join(str(e.get("message")) for e in busy))
        self._user_errors(payload)
        return payload["bulkOperation"]

    def bulk_operation(self, operation_id: str) -> dict | None:
        """The operation as it is now: status (CREATED, RUNNING, COMPLETED, FAILED, CANCELED,
        EXPIRED...), objectCount, and `url` once COMPLETED (null when it found nothing)."""
        return self.query(self.BULK_POLL, {"id": operation_id}).get("node")

    def bulk_lines(self, url: str, offset: int = 0) -> Iterator[tuple[int, int, dict]]:
        """(start, end, object) of each JSONL line of the file at `url` from byte `offset`,
        streamed: a line at a time in memory. Asks for the rest of the file only (`Range`, which
        the storage the URL points at answers with 206); a server that sends the whole file (200)
        is read past `offset`. An expired or missing file is Terminal."""
        import json as _json

        client = self.http or httpx.Client(timeout=60.0)
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            with client.stream("GET", url, headers=headers) as r:
                if r.status_code == 416:  # nothing at or after offset
                    return
                if r.status_code in (401, 403, 404, 410):
                    raise Terminal(f"{r.status_code}: the export's file is no longer available")
                if r.status_code == 429 or r.status_code >= 500:
                    raise Retryable(f"{r.status_code} downloading the export")
                if r.status_code >= 400:
                    raise Terminal(f"{r.status_code} downloading the export")
                pos = offset if r.status_code == 206 else 0
                buf = b""
                for chunk in r.iter_bytes():
                    buf += chunk
                    while True:
                        cut = buf.find(b"\n")
                        if cut < 0:
                            break
                        line, buf = buf[:cut], buf[cut + 1:]
                        start, pos = pos, pos + cut + 1
                        if start >= offset and line.strip():
                            yield start, pos, _json.loads(line)
                if buf.strip() and pos >= offset:
                    yield pos, pos + len(buf), _json.loads(buf)
        except httpx.HTTPError as exc:
            raise Retryable(f"{type(exc).__name__} downloading the export: {exc}") from None
        finally:
            if self.http is None:
                client.close()

    def bulk_orders(self, url: str, offset: int = 0) -> Iterator[tuple[dict, int]]:
        """Each order of an orders export from byte `offset` (the start of an order's line),
        reassembled: its line items and shipping lines (lines with its id as `__parentId`) put
        back as `lineItems.nodes` and `shippingLines.nodes`, the shape `translate.graphql_order`
        reads. Yields (order, where the next order starts). One order in memory at a time:
        children follow their parent (groupObjects), so the next parent line closes an order."""
        current, begins = None, offset
        for start, _end, obj in self.bulk_lines(url, offset):
            parent = obj.pop("__parentId", None)
            if parent is None:
                if current is not None:
                    yield current, start
                current, begins = obj, start
                current.setdefault("lineItems", {"nodes": []})
                current.setdefault("shippingLines", {"nodes": []})
                continue
            if current is None or parent != current.get("id"):
                raise Terminal(f"export line at byte {start} belongs to {parent}, not to the order before it")
            gid = str(obj.get("id") or "").rsplit("/", 2)
            kind = obj.get("__typename") or (gid[-2] if len(gid) == 3 else "")
            key = "shippingLines" if kind == "ShippingLine" else "lineItems"
            current[key]["nodes"].append(obj)
        if current is not None:
            yield current, -1  # -1: the end of the file
    # -- customers by e-mail ----------------------------------------------------------------
    # `customers(first:, after:, query:)` filters with Shopify's search syntax: `email:<value>`
    # terms joined by OR (https://shopify.dev/docs/api/usage/search-syntax: "query=state:enabled
    # OR state:disabled"; a value is a name or a quoted string, single or double quotes). Inside
    # a quoted value a backslash and the quote are escaped with a backslash (colon, backslash and
    # parentheses are the syntax's special characters). The e-mail is read from
    # `defaultEmailAddress { emailAddress }` (Customer.email is deprecated from 2025-04:
    # https://shopify.dev/changelog/adding-defaultemailaddress-field-to-customer). Search may match
    # more loosely than equality, so only exact (any case) matches are kept. A page holds at most
    # 250 nodes (https://shopify.dev/docs/api/usage/pagination-graphql).
    CUSTOMERS_BY_EMAIL = """query CustomersByEmail($q: String!, $first: Int!, $after: String) {
        customers(first: $first, after: $after, query: $q) {
          nodes { legacyResourceId firstName lastName locale defaultEmailAddress { emailAddress } }
          pageInfo { hasNextPage endCursor } } }"""
    EMAILS_PER_QUERY = 50

    @staticmethod
    def email_term(email: str) -> str:
        quoted = email.replace("\\", "\\\\").replace('"', '\\"')
        return f'email:"{quoted}"'

    def customers_by_email(self, emails: list[str]) -> list[PlatformCustomer]:
        wanted = list(dict.fromkeys(e.strip().lower() for e in emails if e and e.strip()))
        out: list[PlatformCustomer] = []
        for start in range(0, len(wanted), self.EMAILS_PER_QUERY):
            chunk = wanted[start:start + self.EMAILS_PER_QUERY]
            want = set(chunk)
            q = " OR ".join(self.email_term(e) for e in chunk)
            after = None
            while True:
                page = self.query(self.CUSTOMERS_BY_EMAIL,
                                  {"q": q, "first": 2 * len(chunk), "after": after})["customers"]
                for n in page.get("nodes") or []:
                    email = ((n.get("defaultEmailAddress") or {}).get("emailAddress") or "").strip().lower()
                    if email in want and n.get("legacyResourceId"):
                        name = " ".join(x for x in (n.get("firstName"), n.get("lastName")) if x) or None
                        out.append(PlatformCustomer(str(n["legacyResourceId"]), email, name, n.get("locale")))
                info = page.get("pageInfo") or {}
                if not info.get("hasNextPage") or not info.get("endCursor"):
                    break
                after = info["endCursor"]
        return out

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
        namespace, at most 25 metafields per call (the mutation's limit; each call is atomic);
        then, when `segments` is given (handles, comma-separated), the customer's tags of tier
        and segments (`set_customer_tags`)."""
        metafields = [{"ownerId": f"gid://shopify/Customer/{cid}", "namespace": "loyalty", "key": key,
                       "type": "number_integer" if key == "points" else "single_line_text_field", "value": value}
                      for cid, fields in customers for key, value in fields.items() if key != "segments"]
        written = 0
        for start in range(0, len(metafields), 25):
            chunk = metafields[start:start + 25]
            payload = self.query(self.METAFIELDS_SET, {"metafields": chunk}).get("metafieldsSet") or {}
            self._user_errors(payload)
            written += len(chunk)
        labelled = [(cid, customer_tags.tags(fields.get("tier"), [h for h in fields["segments"].split(",") if h]))
                    for cid, fields in customers if "segments" in fields]
        if labelled:
            self.set_customer_tags(labelled)
        return written

    TAGS_OF = """query LoyaltyTags($ids: [ID!]!) { nodes(ids: $ids) { ... on Customer { id tags } } }"""
    TAGS_ADD = """mutation AddLoyaltyTags($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } } }"""
    TAGS_REMOVE = """mutation RemoveLoyaltyTags($id: ID!, $tags: [String!]!) {
  tagsRemove(id: $id, tags: $tags) { node { id } userErrors { field message } } }"""

    def set_customer_tags(self, customers: list[tuple[str, list[str]]]) -> int:
        """Make each customer carry exactly `tags` among our own (prefixed `loyalty:`;
        domain.customer_tags): their tags are read (`nodes`, 100 customers a query), what is
        missing is added with `tagsAdd` and our stale tags removed with `tagsRemove`
        (https://shopify.dev/docs/api/admin-graphql/latest/mutations/tagsAdd, …/tagsRemove).
        The merchant's and other apps' tags are never touched. Returns how many customers changed."""
        changed = 0
        customers = [(cid, tags) for cid, tags in customers if str(cid).isdigit()]  # only a customer's id is a node
        for start in range(0, len(customers), 100):
            chunk = customers[start:start + 100]
            ids = [f"gid://shopify/Customer/{cid}" for cid, _ in chunk]
            nodes = self.query(self.TAGS_OF, {"ids": ids}).get("nodes") or []
            current = {n["id"]: list(n.get("tags") or []) for n in nodes if n}
            for gid, (_cid, wanted) in zip(ids, chunk):
                if gid not in current:
                    continue  # no such customer (deleted on Shopify): nothing to label
                add, remove = customer_tags.tag_changes(current[gid], wanted)
                if remove:
                    self._user_errors(self.query(self.TAGS_REMOVE, {"id": gid, "tags": remove}).get("tagsRemove") or {})
                if add:
                    self._user_errors(self.query(self.TAGS_ADD, {"id": gid, "tags": add}).get("tagsAdd") or {})
                changed += bool(add or remove)
        return changed

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

    # -- native store credit (services.store_credit mirrors cashback here) -----------------
    # storeCreditAccountCredit / storeCreditAccountDebit take `id`: "The ID of the store credit
    # account or the ID of the account owner" (a Customer gid); a credit "will create an account if
    # one does not already exist", one account per currency
    # (https://shopify.dev/docs/api/admin-graphql/2026-01/mutations/storeCreditAccountCredit,
    # .../mutations/storeCreditAccountDebit). StoreCreditAccountCreditInput has creditAmount,
    # expiresAt and (newer versions) notify; StoreCreditAccountDebitInput has debitAmount only
    # (https://shopify.dev/docs/api/admin-graphql/2025-10/input-objects/storecreditaccountcreditinput,
    # .../2024-10/input-objects/storecreditaccountdebitinput): no idempotency key, no reference of
    # ours; a repeated call is a second transaction. The caller (services.store_credit) records each
    # call's outcome before any retry and, when an outcome is unknown, reads the account first.
    CREDIT = """mutation Credit($id: ID!, $c: StoreCreditAccountCreditInput!) {
        storeCreditAccountCredit(id: $id, creditInput: $c) {
          storeCreditAccountTransaction { id amount { amount currencyCode } }
          userErrors { field code message } } }"""
    DEBIT = """mutation Debit($id: ID!, $d: StoreCreditAccountDebitInput!) {
        storeCreditAccountDebit(id: $id, debitInput: $d) {
          storeCreditAccountTransaction { id amount { amount currencyCode } }
          userErrors { field code message } } }"""
    # HasStoreCreditAccounts.storeCreditAccounts on Customer ("A store credit account owner can
    # hold multiple accounts each with a different currency"; read_store_credit_accounts scope:
    # https://shopify.dev/docs/api/admin-graphql/2024-10/interfaces/HasStoreCreditAccounts);
    # StoreCreditAccount { id balance transactions } (.../2025-04/objects/StoreCreditAccount);
    # the transaction types (credit, debit, debit revert, expiration) and credit's expiresAt:
    # .../2027-01/interfaces/StoreCreditAccountTransaction, .../2025-04/objects/StoreCreditAccountCreditTransaction;
    # `event` (StoreCreditSystemEvent: ADJUSTMENT for "an adjustment was made to the store credit
    # account", as our mutations are; ORDER_PAYMENT, ORDER_REFUND… for checkout's own:
    # .../2025-10/enums/StoreCreditSystemEvent); a debit revert names "the reverted debit
    # transaction" (.../2025-04/objects/StoreCreditAccountDebitRevertTransaction).
    ACCOUNTS = """query StoreCredit($id: ID!, $tx: Int!) { customer(id: $id) {
        storeCreditAccounts(first: 10) { nodes { id balance { amount currencyCode }
          transactions(first: $tx, reverse: true) { nodes { __typename createdAt event amount { amount currencyCode }
            ... on StoreCreditAccountCreditTransaction { id expiresAt }
            ... on StoreCreditAccountDebitTransaction { id }
            ... on StoreCreditAccountDebitRevertTransaction { id debitTransaction { id } }
            ... on StoreCreditAccountExpirationTransaction { id } } } } } } }"""
    TX_TYPES = {"StoreCreditAccountCreditTransaction": "credit", "StoreCreditAccountDebitTransaction": "debit",
                "StoreCreditAccountDebitRevertTransaction": "debit_revert",
                "StoreCreditAccountExpirationTransaction": "expiration"}

    @staticmethod
    def _coded_errors(payload: dict) -> None:
        errors = (payload or {}).get("userErrors") or []
        if errors:
            raise Terminal("; ".join(f"{e.get('code') or 'ERROR'}: {e.get('message')}" for e in errors))

    def store_credit_credit(self, customer_id: str, amount: Decimal, currency: str, *,
                            expires_at=None) -> str:
        money = {"amount": str(amount), "currencyCode": currency}
        when = expires_at.astimezone(_utc()).strftime("%Y-%m-%dT%H:%M:%SZ") if expires_at is not None else None
        data = self.query(self.CREDIT, {"id": f"gid://shopify/Customer/{customer_id}",
                                        "c": {"creditAmount": money, **({"expiresAt": when} if when else {})}},
                          retries=0)
        payload = data["storeCreditAccountCredit"]
        self._coded_errors(payload)
        return payload["storeCreditAccountTransaction"]["id"]

    def store_credit_debit(self, customer_id: str, amount: Decimal, currency: str) -> str:
        data = self.query(self.DEBIT, {"id": f"gid://shopify/Customer/{customer_id}",
                                       "d": {"debitAmount": {"amount": str(amount), "currencyCode": currency}}},
                          retries=0)
        payload = data["storeCreditAccountDebit"]
        self._coded_errors(payload)
        return payload["storeCreditAccountTransaction"]["id"]

    def store_credit_account(self, customer_id: str, currency: str, *, transactions: int = 0) -> dict | None:
        from datetime import datetime

        def when(v):
            return datetime.fromisoformat(v.replace("Z", "+00:00")) if v else None

        data = self.query(self.ACCOUNTS, {"id": f"gid://shopify/Customer/{customer_id}", "tx": max(transactions, 1)})
        customer = data.get("customer")
        if customer is None:
            return None
        for node in (customer.get("storeCreditAccounts") or {}).get("nodes") or []:
            if (node.get("balance") or {}).get("currencyCode") != currency:
                continue
            txs = [{"id": n.get("id"), "type": self.TX_TYPES.get(n.get("__typename"), n.get("__typename")),
                    "amount": Decimal(str(n["amount"]["amount"])).copy_abs(), "created_at": when(n.get("createdAt")),
                    "event": n.get("event"), "reverts": (n.get("debitTransaction") or {}).get("id"),
                    "expires_at": when(n.get("expiresAt"))}
                   for n in ((node.get("transactions") or {}).get("nodes") or [])] if transactions else []
            return {"id": node["id"], "balance": Decimal(str(node["balance"]["amount"])), "transactions": txs}
        return None


def _utc():
    from datetime import timezone
    return timezone.utc
