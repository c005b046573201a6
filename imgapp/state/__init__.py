"""Reflex states: read the session, call services, hold what pages show."""
