"""Hotline's web edge: agent desktop, supervisor wallboard, JSON API, WebSockets.

``create_app(...)`` builds the aiohttp application; the objects it needs are
described by the Protocols in ``callcenter.web.ports``.
"""

from callcenter.web.app import create_app

__all__ = ["create_app"]
