"""The demo lobby: a lobby page a person can use, and a demo provider that plays real
rounds through the gateway's own gamegate mount (demo mode only; see `routes`)."""

from gateway.demo_lobby.routes import add_demo_lobby_routes

__all__ = ["add_demo_lobby_routes"]
