"""The provider interface: `generate(params, on_progress, is_cancelled) -> images`, and its errors.

ProviderError                 a provider could not make the images
 ├── ProviderRejected         permanent: retrying will not help (key, content policy, bad request)
 └── ProviderUnavailable      transient: retried with backoff (rate limit, timeout, 5xx, network)
Cancelled                     the task was cancelled while the provider worked
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from imgapp.services.generation import Params

ProgressCallback = Callable[[int, str, dict[str, object]], None]
CancelCheck = Callable[[], bool]


@dataclass(frozen=True)
class GeneratedImage:
    """One image as bytes, with what is needed to store and serve it."""

    data: bytes
    mime_type: str
    width: int
    height: int


class ProviderError(Exception):
    """The provider could not make the images. `message_key` is what the person is told."""

    message_key = "task.msg.provider_failed"

    def __init__(self, detail: str, *, message_key: str | None = None) -> None:
        """`detail` is for operators (kept in the task's `error`)."""
        super().__init__(detail)
        if message_key:
            self.message_key = message_key


class ProviderRejected(ProviderError):
    """Permanent: the same request will fail again."""


class ProviderUnavailable(ProviderError):
    """Transient: worth retrying after a pause."""


class Cancelled(Exception):
    """The task was cancelled; stop and keep nothing."""


class Provider(Protocol):
    """Makes images for a request, reporting progress and honouring cancellation."""

    name: str

    def generate(
        self, params: Params, *, on_progress: ProgressCallback, is_cancelled: CancelCheck
    ) -> list[GeneratedImage]:
        """All `params.n` images, or an exception from this module."""
        ...
