"""Shared images in public: `/s/{token}` (a page with Open Graph tags) and its picture.

The only routes that answer without a session: each shows one image its owner
published, with its prompt, and nothing else of theirs. A revoked link, a
deleted task or a token never issued all answer the same 404 page. The page
is plain server-written HTML (link previews do not run scripts) showing the
image and its prompt only (no name, model or date), marked `noindex`, and
revalidated on every load so a revoked link stops at once.

`PUT` / `DELETE /api/images/{id}/share` turn an owner's link on and off.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel

from imgapp.api.deps import GenerateCaller
from imgapp.api.responses import request_lang
from imgapp.core import db, i18n, routes
from imgapp.core.settings import get_settings
from imgapp.flows import tasks as task_flow
from imgapp.gateways import image_files
from imgapp.services import sharing
from imgapp.services.errors import NotFound

router = APIRouter(tags=["sharing"])

_TITLE_LENGTH = 70
_DESCRIPTION_LENGTH = 200
_NO_STORE_AFTER_REVOKE = "public, no-cache"  # revalidated: a revoked link stops at once


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


_STYLE = """
body{margin:0;font-family:system-ui,-apple-system,"Noto Sans CJK SC",sans-serif;
background:#f6f6f8;color:#1c1c24;display:flex;min-height:100vh;align-items:center;
justify-content:center}
main{max-width:min(92vw,960px);padding:24px;text-align:center}
img{max-width:100%;max-height:78vh;border-radius:10px;box-shadow:0 6px 30px #0002}
p{font-size:17px;line-height:1.5;margin:18px auto 6px;max-width:720px;white-space:pre-wrap}
small{color:#6b6b7a}a{color:#4f46e5}
"""


def _page(lang: str, title: str, body: str, head: str = "", status: int = 200) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{escape(title)}</title>{head}'
        f"<style>{_STYLE}</style></head><body><main>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": _NO_STORE_AFTER_REVOKE})


def _meta(prop: str, content: str, attribute: str = "property") -> str:
    return f'<meta {attribute}="{prop}" content="{escape(content, quote=True)}">'


def _find(token: str) -> sharing.Shared:
    return db.call_read(sharing.shared, token=token)


@router.get(routes.SHARE + "/{token}", response_class=HTMLResponse, include_in_schema=False)
async def page(token: str, request: Request) -> HTMLResponse:
    """The shared image and its prompt, with Open Graph and Twitter card tags."""
    lang = request_lang(request)
    try:
        found = await run_in_threadpool(_find, token)
    except NotFound:
        title = i18n.text("share.gone_title", lang)
        body = f"<h1>{escape(title)}</h1><p>{escape(i18n.text('share.gone', lang))}</p>"
        return _page(lang, title, body, status=404)
    site = get_settings().site_url.rstrip("/")
    picture = f"{site}{routes.share_path(token)}/image"
    title = _cut(found.prompt, _TITLE_LENGTH)
    head = "".join(
        (
            _meta("og:type", "website"),
            _meta("og:site_name", "imgapp"),
            _meta("og:title", title),
            _meta("og:description", _cut(found.prompt, _DESCRIPTION_LENGTH)),
            _meta("og:url", routes.share_url(token)),
            _meta("og:image", picture),
            _meta("og:image:type", found.image.mime_type),
            _meta("og:image:width", str(found.image.width)),
            _meta("og:image:height", str(found.image.height)),
            _meta("og:image:alt", title),
            _meta("twitter:card", "summary_large_image", "name"),
            _meta("twitter:title", title, "name"),
            _meta("twitter:image", picture, "name"),
            _meta("description", _cut(found.prompt, _DESCRIPTION_LENGTH), "name"),
        )
    )
    made = i18n.text("share.made_with", lang)
    body = (
        f'<img src="{escape(routes.share_path(token))}/image" alt="{escape(title, quote=True)}"'
        f' width="{found.image.width}" height="{found.image.height}">'
        f"<p>{escape(found.prompt)}</p>"
        f'<small><a href="{escape(site)}/">{escape(made)}</a></small>'
    )
    return _page(lang, title, body, head)


@router.get(
    routes.SHARE + "/{token}/image",
    response_class=FileResponse,
    include_in_schema=False,
)
async def picture(token: str) -> FileResponse:
    """The shared image's file (404 once revoked)."""
    found = await run_in_threadpool(_find, token)
    path = image_files.locate(found.image.path)
    if not path.is_file():
        raise NotFound
    return FileResponse(
        path,
        media_type=found.image.mime_type,
        headers={"Cache-Control": _NO_STORE_AFTER_REVOKE},
    )


class ShareOut(BaseModel):
    """An image's public link (`null` when it is private)."""

    image_id: int
    url: str | None


@router.put(
    routes.API_IMAGES + "/{image_id}/share",
    response_model=ShareOut,
    responses={404: {}},
    tags=["images"],
)
async def share(image_id: int, user: GenerateCaller) -> ShareOut:
    """Publish one of your images at an unguessable link (the same link while it stays on)."""
    done = await run_in_threadpool(
        lambda: task_flow.set_shared(image_id=image_id, user_id=user.user_id, shared=True)
    )
    token = done.snapshot["image_shares"][str(image_id)]
    return ShareOut(image_id=image_id, url=routes.share_url(token))


@router.delete(
    routes.API_IMAGES + "/{image_id}/share",
    response_model=ShareOut,
    responses={404: {}},
    tags=["images"],
)
async def unshare(image_id: int, user: GenerateCaller) -> ShareOut:
    """Take the link down: it answers 404 from now on."""
    await run_in_threadpool(
        lambda: task_flow.set_shared(image_id=image_id, user_id=user.user_id, shared=False)
    )
    return ShareOut(image_id=image_id, url=None)
