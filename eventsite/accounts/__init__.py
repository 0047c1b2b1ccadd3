"""Accounts: sign-up, log-in, verification, password reset, the account page."""
