"""Share links over HTTP: opt-in per image, unguessable, Open Graph tags, revocable at once."""

from __future__ import annotations

import re
from html import unescape

from tests.api.test_generation_api import _run_queue, _signed_in, _submit

PROMPT = 'A "quiet" harbour <script>alert(1)</script> & gulls'


def _image(client) -> tuple[int, int]:
    task_id = _submit(client, prompt=PROMPT, size="512x512", n=2).json()["task_id"]
    _run_queue()
    images = client.get(f"/api/generate-image/{task_id}").json()["images"]
    return task_id, images[0]["id"]


def _meta(html: str, prop: str) -> str:
    found = re.search(rf'<meta (?:property|name)="{re.escape(prop)}" content="([^"]*)"', html)
    assert found, prop
    return unescape(found.group(1))


def test_a_shared_image_has_a_public_page_with_open_graph_tags_and_nothing_else(client, new_client):
    user = _signed_in(client)
    task_id, image_id = _image(client)
    shared = client.put(f"/api/images/{image_id}/share")
    assert shared.status_code == 200
    url = shared.json()["url"]
    token = url.rsplit("/s/", 1)[1]
    assert len(token) >= 22  # 128 random bits
    assert client.put(f"/api/images/{image_id}/share").json()["url"] == url  # the same link
    listed = client.get(f"/api/generate-image/{task_id}").json()["images"]
    assert [i["share_url"] for i in listed] == [url, None]  # per image: only the one shared

    anyone = new_client()  # not signed in
    page = anyone.get(f"/s/{token}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "public, no-cache"
    html = page.text
    assert "<script>" not in html  # the prompt is escaped, and the page runs nothing
    assert _meta(html, "og:title").startswith('A "quiet" harbour <script>')
    assert _meta(html, "og:description") == PROMPT
    assert _meta(html, "og:image").endswith(f"/s/{token}/image")
    assert _meta(html, "og:image").startswith("http")
    assert _meta(html, "og:url") == url
    assert _meta(html, "og:image:width") == "512"
    assert _meta(html, "twitter:card") == "summary_large_image"
    assert _meta(html, "robots") == "noindex"
    assert user.email not in html
    assert "gpt-image-1" not in html  # the image and its prompt, nothing else
    assert "Made with imgapp</a>" in html
    picture = anyone.get(f"/s/{token}/image")
    assert picture.status_code == 200
    assert picture.headers["content-type"] == "image/png"
    assert picture.content == client.get(f"/api/images/{image_id}").content
    # Nothing else of the owner's is public.
    other_image = listed[1]["id"]
    assert anyone.get(f"/api/images/{other_image}").status_code == 401
    assert anyone.get(f"/api/generate-image/{task_id}").status_code == 401


def test_revoking_stops_the_link_at_once_and_sharing_again_makes_a_new_one(client, new_client):
    _signed_in(client)
    _, image_id = _image(client)
    first = client.put(f"/api/images/{image_id}/share").json()["url"].rsplit("/s/", 1)[1]
    anyone = new_client()
    assert anyone.get(f"/s/{first}").status_code == 200
    assert client.delete(f"/api/images/{image_id}/share").json() == {
        "image_id": image_id,
        "url": None,
    }
    gone = anyone.get(f"/s/{first}", headers={"Accept-Language": "zh-CN"})
    assert gone.status_code == 404
    assert "链接已失效" in gone.text
    assert anyone.get(f"/s/{first}/image").status_code == 404
    second = client.put(f"/api/images/{image_id}/share").json()["url"].rsplit("/s/", 1)[1]
    assert second != first
    assert anyone.get(f"/s/{first}").status_code == 404
    assert anyone.get(f"/s/{second}").status_code == 200


def test_only_the_owner_shares_and_a_deleted_task_takes_its_links_down(client, new_client):
    _signed_in(client)
    task_id, image_id = _image(client)
    stranger = new_client()
    _signed_in(stranger)
    assert stranger.put(f"/api/images/{image_id}/share").status_code == 404
    assert stranger.delete(f"/api/images/{image_id}/share").status_code == 404
    token = client.put(f"/api/images/{image_id}/share").json()["url"].rsplit("/s/", 1)[1]
    assert client.delete(f"/api/generate-image/{task_id}").status_code == 204
    assert stranger.get(f"/s/{token}").status_code == 404
    assert stranger.get(f"/s/{token}/image").status_code == 404
    assert stranger.get("/s/not-a-token-at-all").status_code == 404
    assert stranger.get("/s/" + "x" * 300).status_code == 404
