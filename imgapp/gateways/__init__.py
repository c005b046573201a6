"""The outside world: the XorPay client and its sandbox, image providers, image files on disk."""
