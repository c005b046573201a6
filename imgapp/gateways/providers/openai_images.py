"""The OpenAI-compatible provider: the official `openai` SDK's `images.generate` and `images.edit`.

An edit sends the uploaded picture (and its mask, transparent where the edit
may paint) as multipart files to `images.edit`; everything else is the same.

Any server speaking the OpenAI images API works (`OPENAI_BASE_URL`). Results
may come as `b64_json` or as a `url` (downloaded here). The SDK's own retries
are off: transient failures (rate limit, timeout, network, 5xx) are retried
here with exponential backoff, checking for cancellation while waiting;
permanent ones (bad key, content policy, bad request) fail at once.
"""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import httpx
import openai
from PIL import Image

from imgapp.gateways.providers.base import (
    CancelCheck,
    Cancelled,
    GeneratedImage,
    ProgressCallback,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
)
from imgapp.services.generation import Params

_BACKOFF_START = 1.0
_BACKOFF_MAX = 30.0


def _classify(exc: openai.OpenAIError) -> ProviderError:
    """One table from SDK errors to what a person can act on."""
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return ProviderRejected(detail, message_key="task.msg.provider_auth")
    if isinstance(exc, openai.RateLimitError):
        return ProviderUnavailable(detail, message_key="task.msg.provider_busy")
    if isinstance(exc, openai.APITimeoutError):
        return ProviderUnavailable(detail, message_key="task.msg.provider_timeout")
    if isinstance(exc, openai.BadRequestError):
        body = exc.body if isinstance(exc.body, dict) else {}
        code = str(body.get("code") or getattr(exc, "code", "") or "")
        if "content_policy" in code or "safety" in code or "moderation" in code:
            return ProviderRejected(detail, message_key="task.msg.content_policy")
        return ProviderRejected(detail, message_key="task.msg.provider_bad_request")
    if isinstance(exc, openai.NotFoundError):
        return ProviderRejected(detail, message_key="task.msg.provider_bad_request")
    if isinstance(exc, openai.APIConnectionError | openai.InternalServerError):
        return ProviderUnavailable(detail, message_key="task.msg.provider_down")
    if isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:  # noqa: PLR2004
        return ProviderUnavailable(detail, message_key="task.msg.provider_down")
    return ProviderRejected(detail)


def _file(path: str) -> tuple[str, bytes, str]:
    """An upload as the SDK sends a file: name, bytes, type (read again on each try)."""
    file = Path(path)
    mime = {".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp"}
    return file.name, file.read_bytes(), mime.get(file.suffix, "image/png")


def _decode(data: bytes) -> GeneratedImage:
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        mime = Image.MIME.get(image.format or "PNG", "image/png")
    return GeneratedImage(data, mime, width, height)


class OpenAIProvider:
    """Calls `images.generate` once per image (some models make one per call)."""

    name = "openai"

    def __init__(
        self, *, api_key: str, base_url: str | None, timeout: float, max_retries: int
    ) -> None:
        """Configure the client; nothing is sent until `generate`."""
        self.client = openai.OpenAI(
            api_key=api_key, base_url=base_url or None, timeout=timeout, max_retries=0
        )
        self.timeout = timeout
        self.max_retries = max_retries

    def _request(self, params: Params) -> dict[str, object]:
        prompt = params.prompt
        if params.negative_prompt:
            prompt += f"\n\nAvoid: {params.negative_prompt}"
        request: dict[str, object] = {
            "model": params.model,
            "prompt": prompt,
            "n": 1,
            "size": params.size,
        }
        if params.model.startswith("dall-e-3"):
            request["quality"] = params.quality
            if params.style:
                request["style"] = params.style
            request["response_format"] = "b64_json"
        return request

    def _call(self, params: Params) -> object:
        request = self._request(params)
        if not params.is_edit:
            return self.client.images.generate(**request)  # type: ignore[call-overload]
        request.pop("quality", None)
        request.pop("style", None)
        request["image"] = _file(params.source_path)
        if params.mask_path:
            request["mask"] = _file(params.mask_path)
        return self.client.images.edit(**request)  # type: ignore[call-overload]

    def _one(self, params: Params, is_cancelled: CancelCheck) -> GeneratedImage:
        delay = _BACKOFF_START
        for attempt in range(self.max_retries + 1):
            try:
                return self._image(self._call(params))
            except openai.OpenAIError as exc:
                error = _classify(exc)
                if isinstance(error, ProviderRejected) or attempt == self.max_retries:
                    raise error from exc
            _wait(delay, is_cancelled)
            delay = min(delay * 2, _BACKOFF_MAX)
        msg = "unreachable"
        raise AssertionError(msg)

    def _image(self, response: object) -> GeneratedImage:
        items = getattr(response, "data", None) or []
        if not items:
            msg = "the image service answered without an image"
            raise ProviderUnavailable(msg, message_key="task.msg.provider_down")
        item = items[0]
        if getattr(item, "b64_json", None):
            return _decode(base64.b64decode(item.b64_json))
        if getattr(item, "url", None):
            try:
                got = httpx.get(item.url, timeout=self.timeout, follow_redirects=True)
                got.raise_for_status()
            except httpx.HTTPError as exc:
                msg = f"downloading the image failed: {exc}"
                raise ProviderUnavailable(msg, message_key="task.msg.provider_down") from exc
            return _decode(got.content)
        msg = "the image service answered with neither b64_json nor url"
        raise ProviderRejected(msg)

    def generate(
        self, params: Params, *, on_progress: ProgressCallback, is_cancelled: CancelCheck
    ) -> list[GeneratedImage]:
        """One call per image; progress moves as each one arrives."""
        images = []
        for index in range(params.n):
            if is_cancelled():
                raise Cancelled
            on_progress(
                index * 100 // params.n,
                "task.msg.requesting",
                {"image": index + 1, "of": params.n},
            )
            images.append(self._one(params, is_cancelled))
        return images


def _wait(seconds: float, is_cancelled: CancelCheck) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if is_cancelled():
            raise Cancelled
        time.sleep(min(0.2, deadline - time.monotonic()))
