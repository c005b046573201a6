"""Shared UI pieces: translated text, the app shell, native forms."""
