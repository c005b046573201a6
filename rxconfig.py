"""Reflex configuration, derived from imgapp's settings."""

import os

import reflex as rx

from imgapp.core.settings import get_settings

_settings = get_settings()
# An app process behind nginx (deploy/, `make run-prod`) runs the backend only
# (REFLEX_BACKEND_ONLY=true): it has no frontend port, and Reflex refuses one.
_backend_only = os.environ.get("REFLEX_BACKEND_ONLY", "").strip().lower() in {"1", "true", "yes"}

config = rx.Config(
    app_name="imgapp",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    frontend_port=None if _backend_only else _settings.imgapp_port,
    backend_port=_settings.imgapp_port,
    # The browser reaches UI, websocket and /api on the public address.
    api_url=_settings.site_url,
    deploy_url=_settings.site_url,
    cors_allowed_origins=[_settings.site_origin],
    redis_url=_settings.redis_url,
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="iris", radius="medium"))],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
