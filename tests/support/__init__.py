"""Test helpers: servers on loopback, databases, factories."""
