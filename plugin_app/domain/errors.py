"""Domain errors. Each carries a stable machine-readable code that the HTTP layer exposes."""


class DomainError(Exception):
    code = "domain_error"
    status = 400

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidRequest(DomainError):
    code = "invalid_request"
    status = 422


class NotFound(DomainError):
    code = "not_found"
    status = 404


class InsufficientBalance(DomainError):
    """A spend (redeem, reserve, downward adjust) would take the balance below zero."""

    code = "insufficient_balance"
    status = 409


class IdempotencyConflict(DomainError):
    """The idempotency key was already used for a different request."""

    code = "idempotency_conflict"
    status = 409


class InvalidState(DomainError):
    """The operation does not apply in the object's current state (a closed hold, say)."""

    code = "invalid_state"
    status = 409


class VersionConflict(DomainError):
    """The document changed since the writer read it (optimistic concurrency)."""

    code = "version_conflict"
    status = 412


class PlatformError(Exception):
    """Something outside the product (a shop's platform, an SMTP relay, a webhook receiver)
    did not do what was asked. Adapters raise subclasses of it; services catch these neutral
    ones and never a connector's own types. Not a DomainError on purpose: the inbox treats a
    DomainError as deterministic and never retries it, while a platform may recover.
    `retryable` is False here: a refusal (bad credentials, invalid input) gives the same
    answer when tried again."""

    retryable = False


class PlatformUnavailable(PlatformError):
    """Throttled, timed out, unreachable, or the far side's 5xx: try again later."""

    retryable = True
