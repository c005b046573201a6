"""The domain: plain functions over a database session. Never imports reflex or fastapi."""
