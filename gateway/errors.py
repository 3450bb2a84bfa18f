"""Errors the engine raises. Each carries one plain sentence for the person who caused it.

The command line prints the sentence on stderr and exits non-zero; screens show it in the
customer's language. Tracebacks go to the log only.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base: ``str(error)`` is a sentence fit to show a user."""

    exit_code = 1


class ConfigError(GatewayError):
    """A centre file that cannot be used. ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        extra = len(problems) - 1
        more = f" (and {extra} more problem{'s' if extra > 1 else ''})" if extra else ""
        super().__init__(problems[0] + more)


class UnknownError(GatewayError):
    """Something named (need, counter, ticket, service, centre) does not exist."""


class NotAllowed(GatewayError):
    """The verb is not allowed in the ticket's or counter's present state."""


class NothingWaiting(GatewayError):
    """``call next`` found nobody waiting for that counter."""

    exit_code = 3


class OutOfOrder(GatewayError):
    """A time (``--at``) that would put a ticket's history out of order."""


class StoreUnavailable(GatewayError):
    """The store cannot be reached, is locked for too long, or is not set up."""

    def __init__(self, sentence: str, *, transient: bool = False) -> None:
        super().__init__(sentence)
        self.transient = transient


class NotPermitted(GatewayError):
    """The store refused the action to this machine's database role (least privilege)."""
