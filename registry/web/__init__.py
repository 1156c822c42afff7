"""Pages for people. Not part of the OpenAPI spec."""

from registry.web.pages import router

__all__ = ["router"]
