"""The Reflex application: pages, the `/api` routes, the session guard."""

import reflex as rx
from reflex import constants
from reflex.utils.prerequisites import get_web_dir

from imgapp import pages  # noqa: F401 - importing registers every page
from imgapp.api import hardening
from imgapp.api.app import app as api
from imgapp.core import logs
from imgapp.core.settings import assert_startable, get_settings
from imgapp.live import bridge as live
from imgapp.live import instances as live_instances
from imgapp.services.errors import describe
from imgapp.state.guard import SessionGuard
from imgapp.worker import entry as task_processor
from imgapp.worker import reconciler as payment_reconciler

assert_startable(get_settings())
logs.configure(get_settings())


def _backend_error(exception: Exception) -> rx.event.EventSpec:
    """An event handler failed: tell the person in both languages, log the rest."""
    zh, en = describe(exception, "zh").message, describe(exception, "en").message
    return rx.toast.error(f"{zh} / {en}" if zh != en else en)


# The built pages' inline scripts are allowed by hash in the Content-Security-Policy.
hardening.serve_pages_from((get_web_dir() / constants.Dirs.STATIC).resolve())

app = rx.App(
    api_transformer=api,
    backend_exception_handler=_backend_error,
)
app.add_middleware(SessionGuard())
app.register_lifespan_task(live.bridge)
app.register_lifespan_task(live_instances.keep_reconnecting_pages)
app.register_lifespan_task(task_processor.in_app)
app.register_lifespan_task(payment_reconciler.in_app)
