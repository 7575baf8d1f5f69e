"""The HTTP edge and composition root: settings, app factory, routes, middleware, CLI."""
