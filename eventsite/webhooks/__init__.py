"""Webhooks: each organisation's endpoints, told of its registrations and events through an
outbox of signed deliveries."""

from eventsite.webhooks import receivers  # noqa: F401  loading the package connects them
