"""Background loops: the task processor and the payment reconciler, in the app or standalone."""
