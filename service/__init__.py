"""The HTTP service: a FastAPI adapter over ``routing`` and ``graphs`` (SPEC section 7)."""

from service.app import create_app as create_app
from service.settings import Settings as Settings

__all__ = ["Settings", "create_app"]
