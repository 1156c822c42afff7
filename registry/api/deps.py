"""Dependencies of API routes."""

from registry.db.unit_of_work import Context, Session, get_session, get_wiring

__all__ = ["Context", "Session", "get_session", "get_wiring"]
