"""The authorization server core. It never imports a web framework: it takes parsed input and
returns a result or raises an :class:`gatehouse.errors.OAuthError`."""
