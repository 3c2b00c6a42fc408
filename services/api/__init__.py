"""The web approval queue and the REST API (FastAPI). `create_app()` lives in `services.api.app`."""
