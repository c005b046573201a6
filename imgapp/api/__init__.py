"""HTTP API routes (FastAPI), mounted into the Reflex app under `/api`."""
