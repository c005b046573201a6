"""Settings, `check-env`, and production refusing default secrets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from imgapp.core.settings import (
    UnsafeProductionSettingsError,
    assert_startable,
    check_settings,
    get_settings,
)
from tests.support.servers import PROJECT_ROOT

PRODUCTION_READY = {
    "IMGAPP_ENV": "production",
    "SITE_URL": "https://img.example.com",
    "SESSION_SECRET": "s" * 40,
    "CREDENTIALS_SECRET": "c" * 40,
    "INTERNAL_API_KEY": "i" * 40,
    "TASK_PROCESS_SECRET_KEY": "t" * 40,
    "XORPAY_AID": "12345",
    "XORPAY_APP_SECRET": "x" * 32,
    "XORPAY_NOTIFY_URL": "https://img.example.com/api/payments/webhook",
}


def _check_env(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("XORPAY", "SITE_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "imgapp", "check-env"],
        cwd=PROJECT_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_defaults_need_no_configuration(configure):
    configure()
    settings = get_settings()
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.effective_database_url.endswith("/imgapp.db")
    assert settings.image_provider == "local"
    assert settings.site_url == "http://localhost:3000"
    assert settings.xorpay_api_base == "https://xorpay.com/api"


def test_site_url_follows_the_port_unless_set(configure):
    configure(IMGAPP_PORT="3100")
    assert get_settings().site_url == "http://localhost:3100"


def test_check_env_reports_insecure_defaults_in_development(configure):
    configure(SESSION_SECRET="dev-session-secret-change-me")
    by_name = {c.name: c for c in check_settings(get_settings())}
    assert by_name["SESSION_SECRET"].status == "insecure default"
    assert by_name["DATABASE_URL"].status == "missing"
    assert by_name["REDIS_URL"].status == "missing"
    assert by_name["IMAGE_PROVIDER"].status == "ok"
    assert_startable(get_settings())  # development starts anyway


def test_production_refuses_a_default_secret_and_names_it(configure):
    configure(**{**PRODUCTION_READY, "SESSION_SECRET": "dev-session-secret-change-me"})
    with pytest.raises(UnsafeProductionSettingsError, match="SESSION_SECRET"):
        assert_startable(get_settings())


def test_production_refuses_the_default_credentials_secret(configure):
    configure(**{**PRODUCTION_READY, "CREDENTIALS_SECRET": "dev-credentials-secret-change-me"})
    with pytest.raises(UnsafeProductionSettingsError, match="CREDENTIALS_SECRET"):
        assert_startable(get_settings())


def test_production_with_real_secrets_starts(configure):
    configure(**PRODUCTION_READY)
    assert_startable(get_settings())


def test_check_env_command_exit_codes():
    ok = _check_env(**PRODUCTION_READY)
    assert ok.returncode == 0, ok.stderr
    assert "Settings are usable" in ok.stdout
    for name in ("SESSION_SECRET", "INTERNAL_API_KEY", "DATABASE_URL", "REDIS_URL"):
        assert name in ok.stdout

    bad = _check_env(**{**PRODUCTION_READY, "INTERNAL_API_KEY": "short"})
    assert bad.returncode == 1
    assert "INTERNAL_API_KEY" in bad.stderr

    dev = _check_env(IMGAPP_ENV="development")
    assert dev.returncode == 0
    assert "INSECURE" in dev.stdout


def test_invalid_setting_is_refused_with_its_name(configure):
    configure(SITE_URL="not a url")
    with pytest.raises(ValueError, match="site_url"):
        get_settings()
