"""Organisations, their members and the invitations to join them."""

from eventsite.organisations import receivers  # noqa: F401  loading the package connects them
