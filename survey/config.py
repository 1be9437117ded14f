"""Configuration: defaults in code, overridden by the environment; nothing to edit first."""

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Settings read from the environment when set (values are strings; numbers converted below).
ENV_SETTINGS = (
    "DATABASE_URL",
    "SECRET_KEY",
    "PUBLIC_BASE_URL",
    "RATELIMIT_STORAGE_URI",
    "SUBMIT_RATE_LIMIT",
    "RECEIPT_LINK_DAYS",
    "PROXY_HOPS",
    "COUNTER_BURST",
    "REPEAT_SESSION_LIMIT",
    "REPEAT_ADDRESS_LIMIT",
    "OPENING_HOURS",
    "RETENTION_DAYS",
    "KIOSK_MIN_GAP",
    "RESULTS_DATABASE_URL",
    "RESULTS_CACHE_URL",
    "RESULTS_REFRESH",
    "RESULTS_REFRESH_SECONDS",
)


def default_config(instance_path: Path) -> dict:
    """Return the built-in defaults for an app whose instance folder is `instance_path`."""
    return {
        "DATABASE_URL": f"sqlite:///{instance_path / 'survey.sqlite3'}",
        "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "translations"),
        "LANGUAGES": ("vi", "en"),
        "QUESTIONNAIRE_DIR": str(PROJECT_ROOT / "questionnaires"),
        "RATELIMIT_STORAGE_URI": "memory://",
        # Trusted reverse proxies in front of the app (nginx in production: 1). Only then are
        # X-Forwarded-For / -Proto believed, and only for exactly that many hops.
        "PROXY_HOPS": 0,
        # Submissions per address at one counter (or one receipt link). A whole centre behind
        # one address (its Wi-Fi, a carrier's NAT) sends a few a minute at each counter; a
        # script hammering one counter is stopped here, and what gets through is flagged.
        "SUBMIT_RATE_LIMIT": "30 per minute",
        # Flag suspicious responses (too fast, out of hours, repeats, bursts). Off only in the
        # tests that are not about flags, which send forms at once and at any hour.
        "FLAG_SUSPICIOUS": True,
        # The windows of the flags (survey/citizen/flagging.py): responses that count, at one
        # counter; one browser session at one counter; one address at one counter.
        "COUNTER_BURST": "4 per 2 minutes",
        "REPEAT_SESSION_LIMIT": "3 per 30 minutes",
        "REPEAT_ADDRESS_LIMIT": "3 per 2 minutes",
        # When counters are open, unless an agency says otherwise (Vietnam's time).
        "OPENING_HOURS": "Mon-Fri 07:00-17:30; Sat 07:00-12:00",
        # Failed sign-ins (survey/console/auth.py): per address, all accounts together; per
        # account from one address (the guesser is slowed, the owner elsewhere is not); per
        # account from all addresses together, wide, against a guess spread over many machines.
        "LOGIN_RATE_LIMIT": "10 per minute",
        "LOGIN_PAIR_RATE_LIMIT": "5 per 15 minutes",
        "LOGIN_ACCOUNT_RATE_LIMIT": "50 per hour",
        # Days a free-text comment and a flag's evidence are kept (`flask retention`).
        "RETENTION_DAYS": 365,
        "RECEIPT_LINK_DAYS": 30,
        # Keyword arguments of argon2's PasswordHasher; None keeps argon2-cffi's defaults (RFC
        # 9106's second recommended option, 64 MiB), the production ones. Tests set cheap ones.
        "PASSWORD_HASH_PARAMETERS": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": 6 * 3600,  # a citizen may leave the form open while waiting
        "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
        # The results (survey/results/cache.py): read from a replica when set; kept in Redis
        # (redis://...) or, by default, in instance/results-cache; an old result is served while
        # a newer one is computed beside the workers ("background") or computed in the request
        # ("inline"); new responses start a newer computation at most this often.
        # Seconds between two answers on one kiosk below which the second is flagged.
        "KIOSK_MIN_GAP": 5,
        "RESULTS_DATABASE_URL": None,
        "RESULTS_CACHE_URL": "",
        "RESULTS_REFRESH": "background",
        "RESULTS_REFRESH_SECONDS": 30,
        "RESULTS_REFRESH_TIMEOUT": 600,
    }


def environment_overrides() -> dict:
    """Return the settings given in the environment."""
    values = {name: os.environ[name] for name in ENV_SETTINGS if os.environ.get(name)}
    whole_numbers = (
        "RECEIPT_LINK_DAYS",
        "PROXY_HOPS",
        "RETENTION_DAYS",
        "RESULTS_REFRESH_SECONDS",
        "KIOSK_MIN_GAP",
    )
    for name in whole_numbers:
        if name in values:
            values[name] = _whole_number(name, values[name])
    return values


def _whole_number(name: str, text: str) -> int:
    """Return `text` as a whole number of at least 0, or stop start-up saying which setting."""
    if not text.strip().isdigit():
        raise SystemExit(f"{name} must be a whole number of at least 0, not {text!r}")
    return int(text)


def instance_secret_key(instance_path: Path) -> str:
    """Return the secret key kept in the instance folder, generating it on first use."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Create with mode 0600 so that only the service account can read it.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
