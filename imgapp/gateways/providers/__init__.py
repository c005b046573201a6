"""Image providers behind one interface; `configured()` picks the one settings ask for."""

from __future__ import annotations

from imgapp.core.settings import get_settings
from imgapp.gateways.providers.base import (
    Cancelled,
    GeneratedImage,
    Provider,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
)
from imgapp.gateways.providers.local import LocalProvider

__all__ = [
    "Cancelled",
    "GeneratedImage",
    "LocalProvider",
    "Provider",
    "ProviderError",
    "ProviderRejected",
    "ProviderUnavailable",
    "configured",
    "configured_name",
]


def configured_name() -> str:
    """`openai` when chosen and keyed, else `local` (the offline renderer)."""
    settings = get_settings()
    has_key = settings.openai_api_key and settings.openai_api_key.get_secret_value()
    return "openai" if settings.image_provider == "openai" and has_key else "local"


def configured() -> Provider:
    """The provider new tasks run on."""
    settings = get_settings()
    if configured_name() == "openai":
        from imgapp.gateways.providers.openai_images import OpenAIProvider  # noqa: PLC0415

        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
        return OpenAIProvider(
            api_key=key,
            base_url=settings.openai_base_url,
            timeout=settings.openai_timeout_seconds,
            max_retries=settings.openai_max_retries,
        )
    return LocalProvider(settings.local_render_seconds, processes=settings.local_render_processes)
