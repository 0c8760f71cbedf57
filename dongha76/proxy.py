"""The client behind the reverse proxy (settings: BEHIND_PROXY)."""


def client_ip(request) -> str | None:
    """The client's address as nginx gives it in X-Real-IP (``proxy_set_header X-Real-IP $remote_addr``, which
    replaces anything the client sent), else the connection's peer."""
    return request.META.get("HTTP_X_REAL_IP") or request.META.get("REMOTE_ADDR")
