"""HTTP tests against the API served on loopback."""
