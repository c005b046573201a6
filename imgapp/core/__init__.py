"""Infrastructure every layer may use: settings, database, events, messages, formatting."""
