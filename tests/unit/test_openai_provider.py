"""The OpenAI provider against an OpenAI-compatible server on loopback (real HTTP, real SDK)."""

from __future__ import annotations

import dataclasses
import io

import pytest
from PIL import Image

from imgapp.gateways.providers import ProviderRejected, ProviderUnavailable
from imgapp.gateways.providers.openai_images import OpenAIProvider
from imgapp.services import generation
from tests.support.openai_server import FakeOpenAI, png, serve

PARAMS = generation.Params(
    prompt="a koi pond", negative_prompt="text", model="gpt-image-1", size="1024x1024", n=2
)


@pytest.fixture
def fake():
    server_state = FakeOpenAI()
    server = serve(server_state)
    server_state.url = server.url  # type: ignore[attr-defined]
    yield server_state
    server.stop()


def _provider(fake: FakeOpenAI, retries: int = 3) -> OpenAIProvider:
    return OpenAIProvider(
        api_key="sk-test",
        base_url=fake.url + "/v1",
        timeout=10,
        max_retries=retries,  # type: ignore[attr-defined]
    )


def _run(provider: OpenAIProvider, params=PARAMS):
    seen: list[int] = []
    images = provider.generate(
        params, on_progress=lambda p, _k, _a: seen.append(p), is_cancelled=lambda: False
    )
    return images, seen


def test_b64_results_become_images_and_progress_moves(fake):
    images, seen = _run(_provider(fake))
    assert [(i.mime_type, i.width, i.height) for i in images] == [("image/png", 64, 64)] * 2
    assert seen == [0, 50]
    body = fake.requests[0]["body"]
    assert body["model"] == "gpt-image-1"
    assert body["size"] == "1024x1024"
    assert body["n"] == 1
    assert "Avoid: text" in body["prompt"]
    assert fake.requests[0]["auth"] == "Bearer sk-test"


def test_url_results_are_downloaded(fake):
    fake.script = ["url"]
    images, _ = _run(_provider(fake))
    assert [(i.width, i.height) for i in images] == [(32, 32)] * 2


def test_a_bad_key_fails_at_once_with_an_actionable_message(fake):
    fake.script = ["401"]
    with pytest.raises(ProviderRejected) as caught:
        _run(_provider(fake))
    assert caught.value.message_key == "task.msg.provider_auth"
    assert len(fake.requests) == 1  # not retried


def test_a_rate_limit_is_retried_then_succeeds(fake):
    fake.script = ["429", "b64"]
    images, _ = _run(_provider(fake), params=generation.Params(prompt="x", size="512x512"))
    assert len(images) == 1
    assert len(fake.requests) == 2


def test_a_server_error_forever_gives_up_after_the_retries(fake):
    fake.script = ["500"]
    with pytest.raises(ProviderUnavailable) as caught:
        _run(_provider(fake, retries=2), params=generation.Params(prompt="x", size="512x512"))
    assert caught.value.message_key == "task.msg.provider_down"
    assert len(fake.requests) == 3


def test_a_content_policy_refusal_is_permanent(fake):
    fake.script = ["content_policy"]
    with pytest.raises(ProviderRejected) as caught:
        _run(_provider(fake))
    assert caught.value.message_key == "task.msg.content_policy"


def _edit_files(tmp_path, mask: bool = True) -> generation.Params:
    source = tmp_path / "image-abc.png"
    source.write_bytes(png(128, 128))
    params = {"source_path": str(source)}
    if mask:
        cutout = Image.new("RGBA", (128, 128), (0, 0, 0, 255))
        cutout.paste((0, 0, 0, 0), (64, 0, 128, 128))
        buffer = io.BytesIO()
        cutout.save(buffer, format="PNG")
        (tmp_path / "mask-abc.png").write_bytes(buffer.getvalue())
        params["mask_path"] = str(tmp_path / "mask-abc.png")
    return dataclasses.replace(PARAMS, **params)


def test_an_edit_sends_the_upload_and_mask_to_the_edit_endpoint(fake, tmp_path):
    params = _edit_files(tmp_path)
    images, seen = _run(_provider(fake), params)
    assert [(i.width, i.height) for i in images] == [(64, 64)] * 2
    assert seen == [0, 50]
    sent = fake.requests[0]
    assert sent["body"]["model"] == "gpt-image-1"
    assert sent["body"]["size"] == "1024x1024"
    assert "a koi pond" in sent["body"]["prompt"]
    assert sent["files"]["image"]["data"] == (tmp_path / "image-abc.png").read_bytes()
    assert sent["files"]["image"]["content_type"] == "image/png"
    assert sent["files"]["mask"]["data"] == (tmp_path / "mask-abc.png").read_bytes()
    assert sent["auth"] == "Bearer sk-test"


def test_an_edit_without_a_mask_sends_the_upload_alone_and_is_retried_whole(fake, tmp_path):
    fake.script = ["500", "b64"]
    params = dataclasses.replace(_edit_files(tmp_path, mask=False), n=1)
    images, _ = _run(_provider(fake), params)
    assert len(images) == 1
    assert len(fake.requests) == 2  # the transient failure, then the retry with the file again
    assert all("mask" not in r["files"] for r in fake.requests)
    assert fake.requests[1]["files"]["image"]["data"] == (tmp_path / "image-abc.png").read_bytes()
