"""A minimal survey web app scored by fraudscore: standard library only.

Serves the demo survey with the browser collector, receives each submission as JSON, scores it
with :class:`fraudscore.Scorer` against a SQLite history, and shows recent results on an admin
page. Start it from the repository root::

    python examples/survey_app/app.py

then open http://127.0.0.1:8000/ (survey) and http://127.0.0.1:8000/admin (results).

Routes
------
``GET /``                    the survey page (consent question first)
``GET /collector.js``        collector/fraudscore-collector.js
``GET /privacy``             what is collected and why (rendered from docs/COLLECTOR.md)
``POST /api/submissions``    one submission (JSON); answers ``201 {"submission_id": ...}``
``GET /admin``               recent submissions with score, decision and reasons
``GET /api/submissions``     the same as JSON (``?limit=N``)
``GET /healthz``             ``ok`` once the model is loaded

The admin routes have no authentication: the server binds to 127.0.0.1 by default. Put real
access control in front of them before exposing the app anywhere.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import secrets
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))  # the app's own modules, when started as a script

from pages import admin_page, privacy_page  # noqa: E402
from store import ResultStore  # noqa: E402
from survey import SPEC, SURVEY_ID, survey_page  # noqa: E402

__all__ = ["SurveyApp", "build_record", "make_server", "main"]

#: Largest accepted body. Four telemetry streams at the library's 50,000-event cap are ~3 MB of
#: JSON; anything beyond is not a survey submission.
MAX_BODY = 8 * 1024 * 1024
#: Top-level fields of the input contract (docs/SCHEMA.md) a page may send; others are dropped.
_CONTRACT_KEYS = ("respondent_id", "started_at", "submitted_at", "consent", "network", "device", "telemetry", "answers")
_STATIC = {"survey.js": "text/javascript", "style.css": "text/css"}
# Everything the page loads or sends stays on this origin: the policy makes that a browser-enforced
# promise rather than a property of today's scripts.
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def build_record(payload: dict, *, client_ip: str | None, accept_language: str | None,
                 loopback_ip: str | None = None) -> dict:
    """The record fraudscore scores: the page's payload plus what only the server knows.

    The server assigns ``submission_id`` (a page could replay one to dodge duplicate counting)
    and ``survey_id``, and adds the client IP and Accept-Language header only when the
    respondent consented to usage data, as the collector does for device attributes. A loopback
    address is this machine (a local demo, or a proxy not declared with --trust-forwarded-for),
    not the respondent: it is replaced by ``loopback_ip`` when one is configured, else left out.

    Parameters
    ----------
    payload : dict
        The JSON object the page posted (the collector's output).
    client_ip : str or None
        The peer address (or the first X-Forwarded-For hop when the proxy is trusted).
    accept_language : str or None
        The request's Accept-Language header.
    loopback_ip : str or None
        Stand-in address for requests from this machine (local demos and tests). The shipped
        model never saw a submission without an IP under usage consent, nor a residential user
        on a loopback address, so either would add a spurious network signal to every local test.
    """
    record = {key: payload[key] for key in _CONTRACT_KEYS if key in payload}
    record["submission_id"] = uuid.uuid4().hex
    record["survey_id"] = SURVEY_ID
    consent = record.get("consent") if isinstance(record.get("consent"), dict) else {}
    if consent.get("usage") is True:
        network = dict(record["network"]) if isinstance(record.get("network"), dict) else {}
        network.pop("ip", None)  # only the server knows the address; a page-supplied one is not trusted
        if client_ip and _is_loopback(client_ip):
            client_ip = loopback_ip
        if client_ip:
            network["ip"] = client_ip
        if accept_language:
            network["accept_language"] = accept_language
        if network:
            record["network"] = network
    else:
        record.pop("network", None)
    return record


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


class SurveyApp:
    """The app's state: the scorer, the admin store and the options.

    Parameters
    ----------
    data_dir : Path
        Holds ``history.sqlite`` (fraudscore history), ``results.sqlite`` (admin page) and, with
        ``keep_payloads``, ``payloads.jsonl``.
    keep_payloads : bool
        Append every scored record to ``payloads.jsonl`` (for ``fraudscore validate`` and
        debugging). Off by default: the file holds raw personal data (IP, device attributes).
    trust_forwarded_for : bool
        Take the client IP from the first ``X-Forwarded-For`` hop (behind a reverse proxy only).
    loopback_ip : str or None
        Address to record for requests from this machine (see :func:`build_record`).
    """

    def __init__(self, data_dir: Path, keep_payloads: bool = False, trust_forwarded_for: bool = False,
                 loopback_ip: str | None = None) -> None:
        import fraudscore
        from fraudscore.enrich.ip import IPDatabase

        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.trust_forwarded_for = trust_forwarded_for
        self.loopback_ip = loopback_ip
        self.payloads = self.data_dir / "payloads.jsonl" if keep_payloads else None
        self._payload_lock = threading.Lock()
        # A respondent's submission is never refused because the history is locked or gone: it is
        # scored without history and its result carries the warning HISTORY_UNAVAILABLE.
        self.scorer = fraudscore.Scorer(history=f"sqlite:{self.data_dir / 'history.sqlite'}", survey=SPEC,
                                        on_history_error="skip")
        IPDatabase.default()  # load the IP tables now, not on the first respondent's request
        self.store = ResultStore(self.data_dir / "results.sqlite")

    def submit(self, payload: dict, client_ip: str | None, accept_language: str | None) -> dict:
        """Score one posted submission and remember its result; returns the admin row."""
        record = build_record(payload, client_ip=client_ip, accept_language=accept_language,
                              loopback_ip=self.loopback_ip)
        result = self.scorer.score_one(record)
        if self.payloads is not None:
            with self._payload_lock, open(self.payloads, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
        return self.store.add(result, record.get("consent") if isinstance(record.get("consent"), dict) else {})

    def close(self) -> None:
        self.store.close()
        history = self.scorer.history
        if history is not None and hasattr(history, "close"):
            history.close()


def _handler(app: SurveyApp):
    class Handler(BaseHTTPRequestHandler):
        server_version = "fraudscore-survey-demo"

        def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
            if not getattr(self.server, "quiet", False):
                super().log_message(format, *args)

        # -------------------------------------------------------------- responses
        def _send(self, status: int, body: bytes | str, content_type: str) -> None:
            data = body.encode("utf-8") if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in _SECURITY_HEADERS.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _json(self, status: int, value) -> None:
            self._send(status, json.dumps(value), "application/json")

        def _client_ip(self) -> str:
            if app.trust_forwarded_for:
                forwarded = self.headers.get("X-Forwarded-For", "")
                if forwarded.strip():
                    return forwarded.split(",")[0].strip()
            return self.client_address[0]

        # -------------------------------------------------------------- routes
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            url = urlsplit(self.path)
            path = url.path
            if path == "/":
                self._send(200, survey_page(), "text/html; charset=utf-8")
            elif path == "/collector.js":
                self._send(200, (REPO / "collector" / "fraudscore-collector.js").read_bytes(), "text/javascript")
            elif path.startswith("/static/") and path[len("/static/"):] in _STATIC:
                name = path[len("/static/"):]
                self._send(200, (HERE / "static" / name).read_bytes(), _STATIC[name])
            elif path == "/privacy":
                self._send(200, privacy_page(REPO / "docs" / "COLLECTOR.md"), "text/html; charset=utf-8")
            elif path == "/admin":
                self._send(200, admin_page(app.store.recent(100), SURVEY_ID), "text/html; charset=utf-8")
            elif path == "/api/submissions":
                limit = parse_qs(url.query).get("limit", ["50"])[0]
                self._json(200, app.store.recent(max(1, min(int(limit) if limit.isdigit() else 50, 1000))))
            elif path == "/healthz":
                self._send(200, "ok", "text/plain")
            else:
                self._send(404, "not found", "text/plain")

        do_HEAD = do_GET

        def do_POST(self) -> None:  # noqa: N802
            if urlsplit(self.path).path != "/api/submissions":
                self._send(404, "not found", "text/plain")
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._json(411, {"error": "Content-Length required"})
                return
            if length > MAX_BODY:
                self._json(413, {"error": f"body over {MAX_BODY} bytes"})
                self.close_connection = True
                return
            try:
                payload = json.loads(self.rfile.read(length))
            except ValueError:
                self._json(400, {"error": "body is not JSON"})
                return
            if not isinstance(payload, dict):
                self._json(400, {"error": "body is not a JSON object"})
                return
            row = app.submit(payload, self._client_ip(), self.headers.get("Accept-Language"))
            # The respondent learns that the answers arrived, not how they were judged: a bot
            # author must not be able to tune a script against the score.
            self._json(201, {"submission_id": row["submission_id"]})

    return Handler


def make_server(app: SurveyApp, host: str = "127.0.0.1", port: int = 8000, quiet: bool = False) -> ThreadingHTTPServer:
    """An HTTP server for ``app`` (call ``serve_forever()``; ``port=0`` picks a free port)."""
    server = ThreadingHTTPServer((host, port), _handler(app))
    server.daemon_threads = True
    server.quiet = quiet
    return server


def _ensure_secret(data_dir: Path) -> None:
    """Use FRAUDSCORE_SECRET, else a random per-installation secret kept in the data directory.

    fraudscore's built-in development key is public; a demo that stores hashes of IPs and
    devices should not use it either.
    """
    if os.environ.get("FRAUDSCORE_SECRET"):
        return
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    os.environ["FRAUDSCORE_SECRET"] = path.read_text().strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any free port)")
    parser.add_argument("--data-dir", type=Path, default=Path("survey-app-data"),
                        help="history, results and secret (default ./survey-app-data)")
    parser.add_argument("--keep-payloads", action="store_true",
                        help="also append every scored record to DATA_DIR/payloads.jsonl (raw personal data)")
    parser.add_argument("--trust-forwarded-for", action="store_true",
                        help="client IP from X-Forwarded-For (only behind a reverse proxy you run)")
    parser.add_argument("--loopback-ip", metavar="ADDRESS",
                        help="record this address for requests from this machine (local testing); "
                             "default: no IP for them")
    parser.add_argument("--quiet", action="store_true", help="no request log")
    args = parser.parse_args(argv)

    _ensure_secret(args.data_dir)
    if args.loopback_ip is not None:
        ipaddress.ip_address(args.loopback_ip)  # fail at start-up, not on the first submission
    app = SurveyApp(args.data_dir, keep_payloads=args.keep_payloads, trust_forwarded_for=args.trust_forwarded_for,
                    loopback_ip=args.loopback_ip)
    server = make_server(app, args.host, args.port, quiet=args.quiet)
    host, port = server.server_address[:2]
    print(f"survey: http://{host}:{port}/   admin: http://{host}:{port}/admin", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
