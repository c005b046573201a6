"""Operator diagnostics behind the CLI: what is wrong with a task, an order, the ledger."""
