"""Service-level tests against a real database."""
