"""Starting the app: host, port and login from the settings, proxies believed, SIGTERM handled, the
page served behind the web guard with its CSS and JS assets."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from askfront.core.config import Settings

if TYPE_CHECKING:
    from askfront.app.scratch import Scratch

UPLOAD_CEILING = 5  # times max_file_mb that the web server receives at all (see serve)


def launch_settings(settings: Settings, environ: dict[str, str] | None = None) -> tuple[str, int, tuple | None]:
    """Host, port and optional (user, password) from settings, ``GRADIO_SERVER_PORT`` and ``ASKFRONT_AUTH``."""
    environ = dict(os.environ if environ is None else environ)
    port = settings.port or int(environ.get("GRADIO_SERVER_PORT") or 7860)
    user, _, password = settings.auth.partition(":")  # its form was checked with the settings
    return settings.host, port, (user, password) if settings.auth else None


def stop_on_sigterm() -> None:
    """SIGTERM (systemd, docker stop, kill) ends the app as Ctrl-C does: through ``finally``, so the export
    folder in /tmp is removed and the index closed."""
    import signal

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)


def trust_proxies(settings: Settings) -> None:
    """uvicorn believes X-Forwarded-For only from ``settings.trusted_proxies`` (its default trusts
    127.0.0.1, so any local client could pick the address the login throttle counts against)."""
    os.environ["FORWARDED_ALLOW_IPS"] = settings.trusted_proxies


def keep_temporary_files_in(scratch: Scratch) -> None:
    """Every temporary file of this process (uploads as received, Gradio's cache) goes into the app's own
    folder, removed when the app stops; set before Gradio is imported (it reads GRADIO_TEMP_DIR then)."""
    import tempfile

    os.environ["GRADIO_TEMP_DIR"] = str(scratch.web())
    tempfile.tempdir = str(scratch.folder)


def serve(settings: Settings) -> None:
    """Start the app: load everything once, print the URL, serve until interrupted."""
    from starlette.middleware import Middleware

    from askfront.app.assets import asset
    from askfront.app.floods import limit_floods
    from askfront.app.page import build_ui
    from askfront.app.presence import announce
    from askfront.app.service import Service
    from askfront.app.web import WebGuard, allowed_hosts

    host, port, auth = launch_settings(settings)
    hosts = allowed_hosts(host, settings.allowed_hosts.split(","))
    trust_proxies(settings)
    service = Service.start(settings)
    keep_temporary_files_in(service.scratch)
    limit_floods()
    service.watch()  # reports copied into corpus/ while the app runs are indexed in the background
    stop_on_sigterm()
    app = build_ui(service, logout=auth is not None)
    print(f"askfront: serving on http://{host}:{port}" + (" (login required)" if auth else ""), flush=True)
    here = host if host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    presence = announce(settings, f"http://{here}:{port}/")  # `askfront ask` puts its questions to this app
    try:
        app.queue(default_concurrency_limit=1).launch(
            server_name=host,
            server_port=port,
            share=False,
            auth=auth,
            # Gradio refuses only what is far over the limit (its toast says MiB, "19.1 Mb" for 20 MB);
            # anything nearer is received and refused by check_upload with askfront's own line
            max_file_size=max(UPLOAD_CEILING * settings.max_file_bytes, 100_000_000),
            footer_links=[],
            css=asset("page.css"),
            theme=_theme(),
            quiet=True,
            auth_message="askfront — ask the reports. Log in to continue.",
            js=asset("page.js"),
            show_error=True,  # Gradio's own refusals (e.g. of an upload) show their message, not "Error"
            app_kwargs={"middleware": [Middleware(WebGuard, hosts=hosts, body_timeout_s=settings.body_timeout_s)]},
        )
    finally:
        if presence is not None:
            presence.unlink(missing_ok=True)
        service.close()


def _theme():
    """Gradio's default look with system fonts (the default theme fetches fonts from the internet)."""
    import gradio as gr

    return gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
