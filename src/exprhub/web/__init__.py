"""exprhub.web: the FastAPI application (REST API under ``/api/v1`` and the web pages)."""

from exprhub.web.app import create_app

__all__ = ["create_app"]
