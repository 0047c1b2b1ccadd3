"""The transactional email outbox and its sender."""
