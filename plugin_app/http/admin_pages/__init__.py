"""The merchant's admin pages, server-rendered on top of the admin API's services. Sign-in: the
shop's admin API key, the Shopify admin's session token when embedded, or a one-time link from
`loyalty admin-link` (signed, 15 minutes). Every page is scoped to the signed-in shop.

`base` holds the blueprint, sign-in and the layout; each page group is its own module."""
from . import program_pages  # noqa: F401,I001  (first: its home page answers at /admin)
from . import dashboard, emails, imports, members, notifications, operations  # noqa: F401  (routes)
from . import finance  # noqa: F401  (routes: the finance page)
from . import engagement  # noqa: F401  (routes: badges, challenges, leaderboard, survey, segments)
from . import simulations  # noqa: F401  (routes: try a program on the past)
from .base import bp, make_link_token, signer  # noqa: F401
