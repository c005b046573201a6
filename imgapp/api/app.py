"""The `/api` FastAPI application that Reflex mounts through `api_transformer`.

Every answer under `/api` is JSON, errors included: unknown paths are a JSON
404, not the UI's HTML page. OpenAPI lives at `/api/docs`.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from imgapp.api import (
    audit,
    auth,
    billing,
    generation,
    health,
    images,
    invites,
    keys,
    metrics,
    payments,
    security,
    sessions,
    share,
    task_processing,
    uploads,
    usage,
    webhooks,
)
from imgapp.api.hardening import BodyLimit, SecurityHeaders
from imgapp.api.responses import error_response, request_lang
from imgapp.api.telemetry import RequestTelemetry
from imgapp.gateways import xorpay_sandbox as sandbox_gateway
from imgapp.services.errors import ImgappError, is_database_outage

log = logging.getLogger(__name__)

_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


async def _imgapp_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(exc, request_lang(request))


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in {"body", "query", "path"})
        problems.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", ""))
    message = "Invalid request: " + "; ".join(problems) if problems else "Invalid request."
    return JSONResponse({"error": message, "code": "bad_request"}, status_code=400)


async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse(
        {"error": str(exc.detail), "code": f"http_{exc.status_code}"},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    if is_database_outage(exc):  # 503 with Retry-After; one line, not a traceback per request
        name = type(exc).__name__
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, name)
    else:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(exc, request_lang(request))


class _Api(FastAPI):
    """FastAPI with `SecurityHeaders` and `RequestTelemetry` outside everything, 500s included."""

    def build_middleware_stack(self) -> ASGIApp:
        """Starlette's stack (errors outermost) in the request id and metrics, then headers."""
        return SecurityHeaders(RequestTelemetry(super().build_middleware_stack()))


def create_api() -> FastAPI:
    """Build the API application with its routers, JSON errors, size limit, security headers."""
    api = _Api(
        title="imgapp API",
        version="1.0",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    api.add_exception_handler(ImgappError, _imgapp_error)
    api.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    api.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    api.add_exception_handler(Exception, _unexpected_error)
    api.add_middleware(BodyLimit)
    api.include_router(health.router)
    api.include_router(metrics.router)
    api.include_router(sessions.router)  # before auth: /api/auth/sessions is more specific
    api.include_router(auth.router)
    api.include_router(security.router)
    api.include_router(keys.router)
    api.include_router(audit.router)
    api.include_router(billing.router)
    api.include_router(webhooks.router)  # before generation: /{task_id}/webhooks
    api.include_router(generation.router)
    api.include_router(images.router)
    api.include_router(uploads.router)
    api.include_router(share.router)
    api.include_router(task_processing.router)
    api.include_router(payments.router)
    api.include_router(usage.router)
    api.include_router(invites.router)
    api.include_router(sandbox_gateway.router)

    @api.api_route("/api/{path:path}", methods=_ALL_METHODS, include_in_schema=False)
    async def _unknown_api_route(path: str) -> JSONResponse:
        return JSONResponse(
            {
                "error": f"No API route at /api/{path}. See /api/docs.",
                "code": "http_404",
            },
            status_code=404,
        )

    return api


app = create_api()
