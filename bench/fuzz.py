"""Fuzz a real server: N malformed requests, and not one server error (issue 12).

Starts gunicorn (2 workers of 4 threads, as tests/test_faults.py does) on a fresh database (SQLite
in a temporary file, or `--database-url postgresql://...`, whose public schema is dropped
first) holding one commune with 100 counters (bench/stuffing.py's), an admin account, an API
token (`flask tokens create`) and a kiosk (`flask kiosks enrol`). Then it sends N malformed
requests (default 10,000), without signing in and signed in as the admin, to the citizen form,
the receipt-link form, sign-in, the console, the results pages, the API (with and without a
token), the kiosk's answers and arbitrary paths: malformed UTF-8, NUL bytes, lone surrogates
(percent-encoded), huge fields, bodies over MAX_CONTENT_LENGTH, file parts where text is
expected, duplicate and unknown keys, out-of-range and overflowing numbers, wrong content
types, deeply nested JSON, bad methods. The cases are drawn by the Hypothesis strategies of
tests/test_fuzz_inputs.py where those exist, with a fixed seed, so a run repeats.

A few well-formed submissions (QR form, receipt link, kiosk) are mixed in as controls: the
responses stored afterwards must be exactly the acknowledged ones. The rate limits are out of
the way: SUBMIT_RATE_LIMIT is raised (test_faults' server), and every request comes from its
own forwarded address (PROXY_HOPS=1), so the per-address sign-in limits never stop the fuzz.

It prints, per target, the requests by status class, every status seen, the 5xx (the first
few requests and the server's tracebacks from the gunicorn log), the row counts before and
after, and the time. Exit status 1 on any 5xx or a stored count that differs.

Run: .venv/bin/python bench/fuzz.py [--requests 10000] [--seed 12] [--database-url URL]
"""

import argparse
import hashlib
import http.client
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter as Tally
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "tests", ROOT / "bench"):
    sys.path.insert(0, str(folder))

from helpers import full_answers, hidden_fields  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.errors import FlakyStrategyDefinition  # noqa: E402
from sqlalchemy import text  # noqa: E402
from stuffing import AGENCY, prepare_database  # noqa: E402
from test_faults import Gunicorn  # noqa: E402
from test_fuzz_inputs import (  # noqa: E402
    BAD_BYTES,
    BAD_FILTERS,
    NUL_TEXT,
    NUMBERS,
    SURROGATE_TEXT,
    bad_form,
    bad_receipt_body,
    encode,
    form_body,
)

from survey.db import make_engine  # noqa: E402

MAX_CONTENT_LENGTH = 4 * 1024 * 1024  # the app's default (survey/config.py)
ADMIN = "fuzz-admin@example.vn"
SECRET = "bench-fuzz-secret"
TIMEOUT = 30.0
FORM = "application/x-www-form-urlencoded"
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
# How often each target is chosen (out of their sum).
TARGETS = {
    "citizen-form": 20,
    "receipt-form": 9,
    "sign-in": 7,
    "console": 16,
    "results": 12,
    "api": 16,
    "kiosk": 10,
    "paths": 10,
}
CONTROL_SHARE = 0.04  # of the steps: a well-formed submission, to check the stored count
SHOWN_ERRORS = 5
ADDRESSES = random.Random(0)  # forwarded client addresses (documentation range 198.51.100.0/22)
TABLES = ("responses", "receipt_links", "agencies", "counters", "users", "api_tokens", "audit_log")
OVERFLOWING = [
    "99999999999999999999",
    "2147483648",
    "9223372036854775808",
    "-1",
    "0",
    "1e5",
    "%D9%A3",  # an Arabic-Indic digit
    "0x10",
    "9" * 400,
]
BAD_PIECES = [
    "%00",
    "%FF",
    "%C3%28",
    "%ED%A0%80",  # a lone surrogate
    "%F4%90%80%80",  # beyond U+10FFFF
    "%E2%80%AE",  # right-to-left override
    "..%2F..%2Fetc%2Fpasswd",
    "%",
    "%zz",
    "x" * 3000,
    "%3Cscript%3E",
    "%22%27%3B--",
]
METHODS = ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "FOO", "HEAD"]
PATHS = [
    "/",
    "/healthz",
    "/s/{token}",
    "/s/{token}/thanks",
    "/r/{signed}",
    "/console/login",
    "/console/",
    "/console/logout",
    "/results/",
    "/api/v1/receipts",
    "/api/v1/indices",
    "/api/v1/openapi.json",
    "/k/answers",
    "/k/",
    "/static/citizen.css",
]
CHART_NAMES = ["forest", "ranks", "changes", "trend", "x" * 200, "%00", "..%2F.."]
FORMATS = ["csv", "xlsx", "json", "svg", "png", "pdf", "exe", "%00", "CSV", "x" * 100]


# ---------------------------------------------------------------- the client side


class Record:
    """Every request sent: its target and status; the 5xx kept whole for the report."""

    def __init__(self):
        self.statuses: dict[str, Tally] = defaultdict(Tally)
        self.errors: list[dict] = []
        self.fuzzed = 0
        self.acknowledged: set[str] = set()  # nonces of 303s, ids of stored kiosk answers
        self.receipts_created = 0

    def add(self, target: str, status: int, request: dict) -> None:
        self.statuses[target][status] += 1
        if status >= 500 and len(self.errors) < 50:
            self.errors.append(request | {"status": status, "target": target})


class Browser:
    """One client with its own cookie jar; each request from its own forwarded address."""

    def __init__(self, port: int, rng: random.Random, record: Record):
        self.port, self.rng, self.record = port, rng, record
        self.cookies: dict[str, str] = {}

    def send(
        self,
        target: str,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str | None = None,
        headers: dict | None = None,
        cookies: bool = True,
    ) -> tuple[int, dict, bytes]:
        """Send one request on a new connection; return (status, headers, body), 0 if none."""
        # Not from the step's generator: how many requests a step sends may depend on the server.
        address = f"198.51.{ADDRESSES.randrange(100, 200)}.{ADDRESSES.randrange(1, 255)}"
        sent = {
            "X-Forwarded-For": address,
            "Connection": "close",
        }
        if cookies and self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if content_type is not None:
            sent["Content-Type"] = content_type
        sent |= headers or {}
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        status, reply_headers, data = 0, {}, b""
        try:
            try:
                conn.request(method, path, body=body, headers=sent)
            except OSError:
                pass  # the server may answer (413) and close before the whole body is read
            reply = conn.getresponse()
            status = reply.status
            reply_headers = {k.lower(): v for k, v in reply.getheaders()}
            data = reply.read()
            for cookie in reply.msg.get_all("Set-Cookie") or []:
                name, _, value = cookie.split(";", 1)[0].partition("=")
                if value:
                    self.cookies[name.strip()] = value
                else:
                    self.cookies.pop(name.strip(), None)
        except (OSError, http.client.HTTPException):
            status = 0
        finally:
            conn.close()
        if target not in ("setup", "control"):
            self.record.fuzzed += 1
        self.record.add(
            target,
            status,
            {
                "method": method,
                "path": path[:300],
                "content_type": content_type,
                "body": (body or b"")[:300],
            },
        )
        return status, reply_headers, data

    def page_fields(self, path: str) -> dict[str, str]:
        """GET `path` (setup) and return its hidden form fields."""
        status, _h, html = self.send("setup", "GET", path)
        if status != 200:
            return {}
        page = html.decode("utf-8", "replace")
        fields = hidden_fields(page)
        # WTForms writes the CSRF field's attributes in another order (test_console_support).
        match = CSRF.search(page)
        if match and "csrf_token" not in fields:
            fields["csrf_token"] = match.group(1)
        return fields


def multipart(data: dict) -> tuple[str, bytes]:
    """Encode `data` (text values, or (file, name) pairs) as multipart/form-data."""
    boundary = f"fuzz{uuid.uuid4().hex}"
    parts = []
    for key, value in data.items():
        name = encode(key) if not isinstance(key, str) else key.encode("utf-8", "surrogatepass")
        head = b'Content-Disposition: form-data; name="' + name.replace(b'"', b"%22") + b'"'
        if isinstance(value, tuple):
            file, filename = value
            content = file.read() if isinstance(file, io.IOBase) else bytes(file)
            head += f'; filename="{filename}"\r\nContent-Type: text/plain'.encode()
        else:
            content = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
        parts.append(b"--" + boundary.encode() + b"\r\n" + head + b"\r\n\r\n" + content + b"\r\n")
    return f"multipart/form-data; boundary={boundary}", b"".join(
        parts
    ) + f"--{boundary}--\r\n".encode()


def stable(value):
    """Return `value` with its file objects replaced by their content: a repr without addresses."""
    if isinstance(value, io.BytesIO):
        return value.getvalue()
    if isinstance(value, tuple | list):
        return [stable(v) for v in value]
    if isinstance(value, dict):
        return [(stable(k), stable(v)) for k, v in value.items()]
    return value


def as_bytes(body) -> bytes:
    return body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")


def send_case(browser: Browser, target: str, path: str, case) -> tuple[int, dict, bytes]:
    """POST one (content type, body) case drawn by test_fuzz_inputs' strategies."""
    content_type, body = case
    if content_type == "multipart/form-data" and isinstance(body, dict):
        content_type, body = multipart(body)
    return browser.send(target, "POST", path, as_bytes(body), content_type)


# ---------------------------------------------------------------- the world the fuzz runs in


class World:
    """The server, its data and the clients: what every step needs."""

    def __init__(self, port: int, tokens: list[str], record: Record, rng: random.Random, **kw):
        self.port, self.tokens, self.record, self.rng = port, tokens, record, rng
        self.password: str = kw["password"]
        self.api_token: str = kw["api_token"]
        self.enrol_path: str = kw["enrol_path"]
        self.counter_ids: list[int] = kw["counter_ids"]
        self.spare_id: int = kw["spare_id"]
        self.anonymous = Browser(port, rng, record)
        self.admin = Browser(port, rng, record)
        self.kiosk = Browser(port, rng, record)
        self.admin_csrf = ""
        self.receipt = ""
        self.steps = 0
        self.salt: str | bytes = ""

    # -- setup

    def sign_in_admin(self) -> None:
        self.admin.cookies.clear()
        fields = self.admin.page_fields("/console/login?lang=en")
        body = urlencode(
            {"csrf_token": fields.get("csrf_token", ""), "email": ADMIN, "password": self.password}
        )
        status, _h, page = self.admin.send("setup", "POST", "/console/login", body.encode(), FORM)
        if status != 303:
            raise RuntimeError(f"the admin could not sign in: {status} {page[-1500:]!r}")
        self.admin_csrf = self.admin.page_fields("/console/").get("csrf_token", "")

    def new_receipt(self) -> None:
        body = json.dumps({"counter": f"{AGENCY}-Q001", "dossier": f"HS-{uuid.uuid4().hex[:10]}"})
        status, _h, data = self.anonymous.send(
            "setup",
            "POST",
            "/api/v1/receipts",
            body.encode(),
            "application/json",
            {"Authorization": f"Bearer {self.api_token}"},
            cookies=False,
        )
        if status != 201:
            raise RuntimeError(f"no receipt link: {status} {data[:200]!r}")
        self.record.receipts_created += 1
        self.receipt = "/r/" + json.loads(data)["url"].rsplit("/r/", 1)[1]

    def setup(self) -> None:
        self.sign_in_admin()
        status, _h, _b = self.kiosk.send("setup", "GET", self.enrol_path)
        if status not in (200, 302, 303) or not self.kiosk.cookies:
            raise RuntimeError(f"the kiosk was not enrolled: {status}")
        self.new_receipt()

    # -- helpers for the steps

    def draw(self, data, strategy):
        """Draw from `strategy` and fold the value into the step's generator.

        The plain choices after a draw then depend on it too: Hypothesis, which varies an
        example's later draws and keeps its first ones, varies the whole request.
        """
        value = data.draw(strategy)
        folded = repr((self.rng.getrandbits(64), stable(value))).encode("utf-8", "surrogatepass")
        self.rng.seed(int.from_bytes(hashlib.blake2b(folded, digest_size=8).digest()))
        return value

    def token(self) -> str:
        """A counter's token; counter 99 is left to the console's own writes."""
        return self.tokens[self.rng.randrange(0, 90)]

    def noise(self, data) -> str:
        """A percent-encoded bad value: NUL, lone surrogate, bad bytes, a number or a piece."""
        kind = self.rng.randrange(4)
        if kind == 0:
            return encode(self.draw(data, st.one_of(NUL_TEXT, SURROGATE_TEXT, BAD_BYTES)))
        if kind == 1:
            return encode(self.draw(data, NUMBERS))
        if kind == 2:
            return self.rng.choice(OVERFLOWING)
        return self.rng.choice(BAD_PIECES)

    def bad_query(self, data, keys: list[str]) -> str:
        """A query string with broken filters (BAD_FILTERS and more), some keys twice."""
        pairs = [(k, encode(v)) for k, v in self.draw(data, BAD_FILTERS).items()]
        for _ in range(self.rng.randrange(0, 4)):
            pairs.append((self.rng.choice(keys), self.noise(data)))
        if self.rng.random() < 0.2:
            pairs.append(("x" * self.rng.randrange(1, 5000), "1"))
        self.rng.shuffle(pairs)
        return "&".join(f"{k}={v}" for k, v in pairs)

    def over_limit(self) -> bytes:
        """A form body just over MAX_CONTENT_LENGTH."""
        return b"comment=" + b"x" * (MAX_CONTENT_LENGTH + self.rng.randrange(1, 20_000))

    def ensure_admin(self) -> None:
        """Sign the admin in again when a fuzzed request signed them out."""
        status, _h, _b = self.admin.send("setup", "GET", "/console/")
        if status != 200:
            self.sign_in_admin()

    # ---------------------------------------------------------------- the steps

    def control(self, data) -> None:
        """A well-formed submission (QR form, receipt link or kiosk), acknowledged or not."""
        kind = self.rng.randrange(3)
        if kind == 2:
            self.kiosk_answers([self.good_entry()], "control")
            return
        browser = Browser(self.port, self.rng, self.record)
        path = f"/s/{self.token()}" if kind == 0 else self.receipt
        fields = browser.page_fields(path)
        if not fields:
            return
        body = urlencode(fields | full_answers(self.rng.choice("345"))).encode()
        status, headers, _b = browser.send("control", "POST", path, body, FORM)
        self.acknowledge(status, headers, fields)
        if kind == 1:
            self.new_receipt()

    def acknowledge(self, status: int, headers: dict, fields: dict) -> None:
        if status == 303 and "/thanks" in headers.get("location", ""):
            self.record.acknowledged.add(fields.get("nonce", ""))

    def citizen_form(self, data) -> None:
        browser = Browser(self.port, self.rng, self.record)
        token = self.token()
        choice = self.rng.random()
        if choice < 0.2:
            bad = self.rng.choice([*BAD_PIECES, *OVERFLOWING, token.upper(), token + "%00"])
            suffix = self.rng.choice(["", "/thanks", "?lang=" + self.noise(data)])
            method = self.rng.choice(["GET", "GET", "POST", *METHODS])
            body = form_body(list(full_answers().items())) if method == "POST" else None
            browser.send("citizen-form", method, f"/s/{bad}{suffix}", body, FORM)
            return
        path = f"/s/{token}"
        fields = browser.page_fields(path)
        if choice < 0.3:
            # A form without its session (no cookie: no CSRF), or with a forged cookie.
            browser.cookies = {"session": self.noise(data)} if self.rng.random() < 0.5 else {}
        if choice < 0.38:
            status, headers, _b = browser.send(
                "citizen-form", "POST", path, self.over_limit(), FORM
            )
        else:
            status, headers, _b = send_case(
                browser, "citizen-form", path, self.draw(data, bad_form(fields))
            )
        self.acknowledge(status, headers, fields)

    def receipt_form(self, data) -> None:
        browser = Browser(self.port, self.rng, self.record)
        if self.rng.random() < 0.25:
            signed = self.receipt.removeprefix("/r/")
            bad = self.rng.choice(
                [signed[:-3], signed + "x", signed.upper(), signed + "%00", *BAD_PIECES]
            )
            method = self.rng.choice(["GET", "POST", "PUT"])
            browser.send("receipt-form", method, f"/r/{bad}", b"A1=4", FORM)
            return
        fields = browser.page_fields(self.receipt)
        status, headers, _b = send_case(
            browser, "receipt-form", self.receipt, self.draw(data, bad_form(fields))
        )
        self.acknowledge(status, headers, fields)
        if status == 303:
            self.new_receipt()

    def sign_in(self, data) -> None:
        browser = Browser(self.port, self.rng, self.record)
        fields = browser.page_fields("/console/login")
        pairs = [
            ("csrf_token", fields.get("csrf_token", "")),
            ("email", self.rng.choice([ADMIN, "a@example.vn", "x"])),
            ("password", "y" * 12),
        ]
        field = self.rng.choice(["email", "password", "next", "csrf_token", "remember"])
        value = self.draw(
            data,
            st.one_of(
                NUL_TEXT,
                SURROGATE_TEXT,
                BAD_BYTES,
                st.just("x" * 70_000),
                st.sampled_from(["//evil.example", "javascript:alert(1)", "\\\\evil", "/%00"]),
            ),
        )
        pairs.append((field, value))
        kind = self.rng.randrange(6)
        if kind == 0:  # a file part where text is expected
            content_type, body = multipart(dict(pairs[:2]) | {field: (io.BytesIO(b"x" * 100), "f")})
        elif kind == 1:
            content_type, body = (
                "application/json",
                json.dumps({k: str(v) for k, v in pairs}).encode(),
            )
        elif kind == 2:
            content_type, body = FORM, self.over_limit()
        else:
            content_type, body = FORM, form_body(pairs)
        method = "POST" if self.rng.random() < 0.9 else self.rng.choice(METHODS)
        browser.send("sign-in", method, "/console/login", body, content_type)

    def console(self, data) -> None:
        self.steps += 1
        if self.steps % 100 == 0:
            self.ensure_admin()
        browser = self.admin if self.rng.random() < 0.85 else self.anonymous
        number = self.rng.choice(OVERFLOWING + [str(self.spare_id)])
        code = self.rng.choice(
            [f"{AGENCY}", "NO-SUCH", *BAD_PIECES, encode(self.draw(data, NUL_TEXT))]
        )
        if self.rng.random() < 0.45:
            path = self.rng.choice(
                [
                    f"/console/counters/{number}",
                    f"/console/counters/{number}/poster.pdf",
                    f"/console/counters/{number}/qr.{self.rng.choice(FORMATS)}",
                    f"/console/users/{number}",
                    f"/console/agencies/{code}",
                    f"/console/agencies/{code}/edit",
                    f"/console/agencies/{code}/posters.pdf?size={self.noise(data)}",
                    f"/console/counters/{self.rng.choice(self.counter_ids)}/qr.{self.noise(data)}",
                ]
            )
            query = self.bad_query(data, ["action", "user", "from", "to", "page", "reason", "lang"])
            if self.rng.random() < 0.5:
                path = self.rng.choice(
                    ["/console/audit", "/console/review", "/console/users", "/console/receipts"]
                )
            browser.send("console", "GET", f"{path}?{query}")
            return
        # A write: with the admin's CSRF token (or not), fields wrong in some way. Only counter
        # 99, overflowing ids and unknown codes are written to.
        post_path = self.rng.choice(
            [
                "/console/agencies/new",
                f"/console/agencies/{self.rng.choice(['NO-SUCH', *BAD_PIECES[:5]])}/edit",
                f"/console/agencies/{AGENCY}/counters",
                f"/console/counters/{number}",
                f"/console/counters/{number}/retire",
                f"/console/counters/{number}/rotate",
                f"/console/counters/{number}/reactivate",
                f"/console/counters/{number}/kiosks/enrol",
                f"/console/counters/{number}/kiosks/{self.rng.choice(OVERFLOWING)}/revoke",
                "/console/receipts",
                "/console/review",
                "/console/tokens",
                f"/console/tokens/{self.rng.choice(OVERFLOWING)}/revoke",
                "/console/users/new",
                f"/console/users/{self.rng.choice(OVERFLOWING)}",
                f"/console/users/{self.rng.choice(OVERFLOWING)}/password",
            ]
        )
        keys = [
            "code",
            "name_vi",
            "name_en",
            "level",
            "parent_code",
            "opening_hours",
            "name",
            "questionnaire",
            "burst_limit",
            "counter",
            "dossier",
            "email",
            "role",
            "agency",
            "response",
            "decision",
            "page",
        ]
        pairs = []
        if self.rng.random() < 0.85:
            pairs.append(("csrf_token", self.admin_csrf))
        for key in self.rng.sample(keys, self.rng.randrange(1, 6)):
            value = self.draw(
                data, st.one_of(NUL_TEXT, SURROGATE_TEXT, BAD_BYTES, NUMBERS, st.text())
            )
            pairs.append((key, value))
        if self.rng.random() < 0.2:
            pairs.append(("code", "ý" * self.rng.randrange(100, 5000)))  # huge, duplicate key
        kind = self.rng.randrange(8)
        if kind == 0:
            content_type, body = multipart(
                dict(pairs) | {self.rng.choice(keys): (io.BytesIO(b"\xff" * 50), "f")}
            )
        elif kind == 1:
            content_type, body = "application/json", "[" * 5000 + "]" * 5000
        elif kind == 2:
            content_type, body = self.rng.choice(["text/plain", "image/png"]), form_body(pairs)
        elif kind == 3:
            content_type, body = FORM, self.over_limit()
        else:
            content_type, body = FORM, form_body(pairs)
        browser.send("console", "POST", post_path, as_bytes(body), content_type)

    def results(self, data) -> None:
        self.steps += 1
        if self.steps % 100 == 0:
            self.ensure_admin()
        browser = self.admin if self.rng.random() < 0.85 else self.anonymous
        code = self.rng.choice([AGENCY, "NO-SUCH", "*", *BAD_PIECES])
        path = self.rng.choice(
            [
                "/results/",
                "/results/",
                f"/results/agency/{code}",
                f"/results/download.{self.rng.choice(FORMATS)}",
                f"/results/responses.{self.rng.choice(FORMATS)}",
                f"/results/chart/{self.rng.choice(CHART_NAMES)}.{self.rng.choice(FORMATS)}",
                f"/results/agency/{code}/chart/{self.rng.choice(CHART_NAMES)}.svg",
            ]
        )
        keys = [
            "questionnaire",
            "design",
            "from",
            "to",
            "period",
            "confidence",
            "level",
            "parent",
            "channel",
            "verified",
            "shown",
            "sort",
            "order",
            "page",
            "lang",
        ]
        method = "GET" if self.rng.random() < 0.93 else self.rng.choice(["POST", *METHODS])
        browser.send("results", method, f"{path}?{self.bad_query(data, keys)}")

    def api(self, data) -> None:
        browser = self.anonymous
        auth = self.rng.random()
        if auth < 0.7:
            headers = {"Authorization": f"Bearer {self.api_token}"}
        elif auth < 0.8:
            headers = {}
        else:
            bad = self.rng.choice(
                [
                    "Bearer ",
                    "Bearer sv_" + "x" * 5000,
                    f"Bearer {self.api_token[:-1]}",
                    "Basic Zm9vOmJhcg==",
                    "Bearer \xff\xfe",
                    f"bearer {self.api_token} {self.api_token}",
                ]
            )
            headers = {"Authorization": bad}
        kind = self.rng.random()
        if kind < 0.45:
            content_type, body = self.draw(data, bad_receipt_body(f"{AGENCY}-Q001"))
            if self.rng.random() < 0.05:
                content_type, body = "application/json", self.over_limit()
            status, _h, _b = browser.send(
                "api", "POST", "/api/v1/receipts", as_bytes(body), content_type, headers, False
            )
            if status == 201:
                self.record.receipts_created += 1
        elif kind < 0.8:
            keys = ["questionnaire", "design", "from", "to", "period", "confidence", "agency"]
            path = f"/api/v1/indices?{self.bad_query(data, keys)}"
            browser.send("api", "GET", path, None, None, headers, False)
        else:
            path = self.rng.choice(
                [
                    "/api/v1/receipts",
                    "/api/v1/indices",
                    "/api/v1/openapi.json",
                    "/api/v1/" + self.rng.choice(BAD_PIECES),
                    "/api/v2/indices",
                    "/api/v1/receipts/" + self.rng.choice(OVERFLOWING),
                ]
            )
            method = self.rng.choice(["GET", "PUT", "DELETE", "PATCH", "POST", "FOO"])
            body = b'{"counter": 1e999}' if method != "GET" else None
            browser.send("api", method, path, body, "application/json", headers, False)

    def good_entry(self) -> dict:
        moment = datetime.now(UTC) - timedelta(minutes=self.rng.randrange(0, 600))
        return {
            "id": str(uuid.UUID(int=self.rng.getrandbits(128))),
            "tapped_at": moment.isoformat(),
            "answers": {"Q1": self.rng.randrange(1, 6), "Q2": self.rng.randrange(1, 6)},
        }

    def kiosk_answers(self, batch, target: str = "kiosk", raw: bytes | None = None) -> None:
        body = raw if raw is not None else json.dumps(batch, ensure_ascii=True).encode()
        status, _h, data = self.kiosk.send(target, "POST", "/k/answers", body, "application/json")
        if status == 200:
            try:
                self.record.acknowledged.update(f"kiosk:{i}" for i in json.loads(data)["stored"])
            except (ValueError, KeyError, TypeError):
                pass

    def kiosk_step(self, data) -> None:
        kind = self.rng.randrange(10)
        if kind == 0:
            depth = self.rng.randrange(1000, 30_000)
            self.kiosk_answers(None, raw=("[" * depth + "]" * depth).encode())
        elif kind == 1:
            self.kiosk_answers(
                None, raw=self.rng.choice([b"{}", b"1e999", b'"x"', b"null", b"\xff["])
            )
        elif kind == 2:
            self.kiosk_answers([self.good_entry() for _ in range(self.rng.randrange(501, 700))])
        elif kind == 3:
            # Without the device cookie, or with a forged one, or on the wrong content type.
            browser = Browser(self.port, self.rng, self.record)
            if self.rng.random() < 0.5:
                forged = self.noise(data)  # one draw, however many cookies the kiosk holds
                browser.cookies = {name: forged for name in self.kiosk.cookies}
            ctype = self.rng.choice(["application/json", "text/plain", FORM])
            browser.send("kiosk", "POST", "/k/answers", b"[]", ctype)
        elif kind == 4:
            browser = Browser(self.port, self.rng, self.record)
            browser.send("kiosk", "GET", f"/k/enrol/{self.noise(data)}")
        else:
            batch = []
            for _ in range(self.rng.randrange(1, 6)):
                entry = self.good_entry()
                field = self.rng.choice(["id", "tapped_at", "answers", "Q1", "extra", "none"])
                value = self.draw(
                    data,
                    st.one_of(
                        NUL_TEXT,
                        SURROGATE_TEXT,
                        NUMBERS,
                        st.integers(),
                        st.sampled_from(
                            [
                                None,
                                True,
                                [],
                                {},
                                10**30,
                                -(10**30),
                                "0001-01-01T00:00:00+14:00",
                                "9999-12-31T23:59:59-14:00",
                                "2026-02-30T10:00:00+07:00",
                                "2026-01-01T10:00:00",
                                "x" * 41,
                            ]
                        ),
                    ),
                )
                if field in ("Q1",):
                    entry["answers"]["Q1"] = value
                elif field == "extra":
                    entry["answers"]["Q9"] = value
                elif field != "none":
                    entry[field] = value
                batch.append(entry)
            if self.rng.random() < 0.2:
                batch.append(batch[0])  # the same id twice in one batch
            self.kiosk_answers(batch)

    def paths(self, data) -> None:
        browser = Browser(self.port, self.rng, self.record)
        path = self.rng.choice(PATHS).format(token=self.token(), signed=self.receipt[3:])
        kind = self.rng.randrange(5)
        headers = {}
        if kind == 0:
            method, path = self.rng.choice(METHODS), path
        elif kind == 1:
            method, path = "GET", path.rstrip("/") + "/" + self.rng.choice(BAD_PIECES)
        elif kind == 2:
            method, path = "GET", f"{path}?{self.bad_query(data, ['lang', 'next', 'page', 'u'])}"
        elif kind == 3:
            method = "GET"
            headers = self.rng.choice(
                [
                    {"Accept-Language": "x" * 2000},
                    {"Accept-Language": "vi;q=nan, en;q=1e999"},
                    {"Cookie": "session=" + "A" * 3000},
                    {"Cookie": "session=.eJw" + self.noise(data)},
                    {"Host": "evil.example"},
                    {"X-Forwarded-For": "not-an-address, ::ffff:zz"},
                    {"X-Forwarded-Proto": "gopher"},
                    {"Range": "bytes=99999999999999999999-"},
                ]
            )
        else:
            method = "POST"
        body = form_body([("x", self.draw(data, st.one_of(NUL_TEXT, BAD_BYTES)))])
        browser.send("paths", method, path, body if method != "GET" else None, FORM, headers)

    def step(self, data) -> None:
        # Every choice of a step comes from Hypothesis: the plain ones from this seed, drawn
        # first, so that the same draws always lead to the same requests.
        self.rng.seed(data.draw(st.integers(0, 2**63 - 1)))
        self.salt = self.draw(data, st.one_of(NUL_TEXT, SURROGATE_TEXT, BAD_BYTES))
        if self.rng.random() < CONTROL_SHARE:
            self.control(data)
            return
        target = self.rng.choices(list(TARGETS), weights=list(TARGETS.values()))[0]
        method = {
            "citizen-form": self.citizen_form,
            "receipt-form": self.receipt_form,
            "sign-in": self.sign_in,
            "console": self.console,
            "results": self.results,
            "api": self.api,
            "kiosk": self.kiosk_step,
            "paths": self.paths,
        }[target]
        method(data)


def fuzz(world: World, requests: int, seed_value: int) -> int:
    """Run steps drawn by Hypothesis (seeded) until `requests` malformed requests are sent."""
    problems: list[BaseException] = []
    round_number = 0
    while world.record.fuzzed < requests:
        remaining = requests - world.record.fuzzed

        @seed(seed_value + round_number)
        @settings(
            max_examples=remaining,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )
        @given(data=st.data())
        def steps(data):
            if world.record.fuzzed >= requests:
                return
            try:
                world.step(data)
            except FlakyStrategyDefinition:
                raise
            except Exception as error:  # a bug of the fuzz itself: reported, never shrunk
                problems.append(error)

        try:
            steps()
        except FlakyStrategyDefinition:
            # A server's answer changed what a step drew (rare): go on with the next round.
            pass
        round_number += 1
        if problems:
            raise problems[0]
    return round_number


# ---------------------------------------------------------------- the server side


def flask(database_url: str, *args: str) -> str:
    """Run `flask --app app ARGS` on the database; return its standard output."""
    env = os.environ | {"DATABASE_URL": database_url, "SECRET_KEY": SECRET}
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)}: {done.stdout}{done.stderr}")
    return done.stdout


def row_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}
    engine.dispose()
    return found


def counter_ids(url: str) -> tuple[list[int], int]:
    """Return the ids of the counters and that of the last one (left to the console's writes)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM counters ORDER BY code")).scalars().all()
    engine.dispose()
    return list(ids), ids[-1]


def tracebacks(log: str, limit: int = 3) -> list[str]:
    """Return the first tracebacks Flask or gunicorn wrote to the log."""
    found = []
    for match in re.finditer(r"^.*(Exception on|Error handling request).*$", log, re.M):
        block = log[match.start() :].split("\n")
        end = next(
            (i for i, line in enumerate(block[1:], 1) if line and not line.startswith((" ", "T"))),
            len(block),
        )
        found.append("\n".join(block[: end + 1][:80]))
        if len(found) == limit:
            break
    return found


def causes(log: str) -> Tally:
    """Count the exceptions that end the tracebacks of the log (type and message)."""
    found = re.findall(r"^Traceback \(most recent call last\):\n(?:[ \t].*\n)+(\S.*)$", log, re.M)
    return Tally(line[:160] for line in found)


# ---------------------------------------------------------------- the report


def report(record: Record, before: dict, after: dict, seconds: float, log: str) -> bool:
    """Print the figures; return True when there was no 5xx and the stored count is right."""
    classes = ["2xx", "3xx", "4xx", "5xx", "none"]

    def class_of(status: int) -> str:
        return "none" if status == 0 else f"{status // 100}xx"

    print(f"\n{'target':<14}" + "".join(f"{c:>8}" for c in classes) + f"{'total':>9}")
    totals = Tally()
    for target in [*TARGETS, "control", "setup"]:
        statuses = record.statuses.get(target, Tally())
        by_class = Tally()
        for status, n in statuses.items():
            by_class[class_of(status)] += n
        totals.update(by_class)
        row = "".join(f"{by_class[c]:>8}" for c in classes)
        print(f"{target:<14}{row}{sum(by_class.values()):>9}")
    print(
        f"{'all':<14}" + "".join(f"{totals[c]:>8}" for c in classes) + f"{sum(totals.values()):>9}"
    )
    every = Tally()
    for statuses in record.statuses.values():
        every.update(statuses)
    print("statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(every.items())))
    fuzz_5xx = sum(n for s, n in every.items() if s >= 500)
    others = sum(sum(record.statuses[t].values()) for t in ("control", "setup"))
    print(
        f"malformed requests: {record.fuzzed} (and {others} control and setup requests); "
        f"server errors (5xx): {fuzz_5xx}"
    )
    for error in record.errors[:SHOWN_ERRORS]:
        print(f"  {error['status']} {error['target']}: {error['method']} {error['path']}")
        print(f"      content type {error['content_type']}, body {error['body']!r}")
    for block in tracebacks(log) if fuzz_5xx or "Traceback" in log else []:
        print("--- from the gunicorn log:\n" + block)
    for cause, n in causes(log).most_common():
        print(f"  {n} × {cause}")
    stored = after["responses"] - before["responses"]
    print(
        f"responses: {before['responses']} before, {after['responses']} after, {stored} stored; "
        f"{len(record.acknowledged)} acknowledged (303 to a form, ids stored by the kiosk)"
    )
    print(
        f"receipt links: {before['receipt_links']} before, {after['receipt_links']} after "
        f"({record.receipts_created} created through the API; staff links from the console too)"
    )
    print(
        "other rows (before → after): "
        + ", ".join(f"{t} {before[t]} → {after[t]}" for t in TABLES[2:])
    )
    print(f"elapsed: {seconds:.1f} s ({record.fuzzed / seconds:.0f} malformed requests/s)")
    return fuzz_5xx == 0 and stored == len(record.acknowledged)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--database-url", help="postgresql://... (its public schema is dropped)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        folder = Path(folder)
        url = args.database_url or f"sqlite:///{folder / 'fuzz.sqlite3'}"
        tokens = prepare_database(url)
        password = re.search(
            r"Password \(shown once[^:]*\): (\S+)",
            flask(url, "users", "create", ADMIN, "--role", "admin", "--generate-password"),
        ).group(1)
        api_token = flask(url, "tokens", "create", ADMIN, "--name", "fuzz").strip().splitlines()[-1]
        enrol = flask(url, "kiosks", "enrol", f"{AGENCY}-Q098").strip().splitlines()[0]
        ids, spare = counter_ids(url)
        # Rate limits out of the way: SUBMIT_RATE_LIMIT in test_faults' server, each request
        # from its own forwarded address for the per-address ones.
        os.environ.update({"PROXY_HOPS": "1", "SECRET_KEY": SECRET})
        for name in ("COUNTER_BURST", "REPEAT_SESSION_LIMIT", "REPEAT_ADDRESS_LIMIT"):
            os.environ.pop(name, None)
        log_path = folder / "gunicorn.log"
        server = Gunicorn(url, workers=args.workers, log=log_path)
        record = Record()
        rng = random.Random(args.seed)
        print(
            f"fuzz: {args.requests} malformed requests, seed {args.seed}, "
            f"{url.split('://', 1)[0]}, gunicorn {args.workers} workers on port {server.port}"
        )
        try:
            world = World(
                server.port,
                tokens,
                record,
                rng,
                password=password,
                api_token=api_token,
                enrol_path="/k/" + enrol.split("/k/", 1)[1],
                counter_ids=ids,
                spare_id=spare,
            )
            world.setup()
            before = row_counts(url)
            start = time.monotonic()
            rounds = fuzz(world, args.requests, args.seed)
            seconds = time.monotonic() - start
        finally:
            server.stop()
        after = row_counts(url)
        good = report(record, before, after, seconds, log_path.read_text(errors="replace"))
        print(f"Hypothesis rounds: {rounds} (seeds {args.seed}…{args.seed + rounds - 1})")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
