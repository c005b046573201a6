"""One function per user-visible action: transaction, services, gateway outside it, announcement."""
