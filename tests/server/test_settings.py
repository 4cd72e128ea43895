"""Settings: environment names, defaults, the one-auth-mode rule, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import DEFAULT_MAX_BODY_BYTES, Settings, SettingsError

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n"
    "-----END RSA PRIVATE KEY-----\n"
)


def test_defaults_in_token_mode() -> None:
    settings = Settings(github_webhook_secret="s", github_token="ghp_x")
    assert settings.auth_mode == "token"
    assert settings.github_api_url == "https://api.github.com"
    assert settings.port == 8080
    assert settings.kepbot_max_body_bytes == DEFAULT_MAX_BODY_BYTES > 25 * 1024 * 1024
    assert settings.kepbot_workers == 8
    assert settings.kepbot_queue_size == 1000
    assert settings.kepbot_drain_seconds == 25
    assert settings.kepbot_log_level == "INFO"
    assert settings.webhook_secret() == b"s"
    assert "ghp_x" not in repr(settings)


def test_built_from_a_dict() -> None:
    settings = Settings.model_validate(
        {
            "github_webhook_secret": "s",
            "github_token": "t",
            "github_api_url": "https://ghe.example/api/v3/",
        }
    )
    assert settings.github_api_url == "https://ghe.example/api/v3"


def test_read_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = tmp_path / "app.pem"
    key.write_text(PEM)
    for name, value in {
        "GITHUB_WEBHOOK_SECRET": "from-env",
        "GITHUB_APP_ID": "12345",
        "GITHUB_PRIVATE_KEY_PATH": str(key),
        "GITHUB_API_URL": "https://ghe.example/api/v3/",
        "PORT": "9000",
        "KEPBOT_WORKERS": "3",
        "KEPBOT_QUEUE_SIZE": "50",
        "KEPBOT_DRAIN_SECONDS": "2.5",
        "KEPBOT_MAX_BODY_BYTES": "1000",
        "KEPBOT_LOG_LEVEL": "debug",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    assert settings.auth_mode == "app"
    assert settings.github_app_id == 12345
    assert settings.private_key() == PEM
    assert settings.github_api_url == "https://ghe.example/api/v3"
    assert (settings.port, settings.kepbot_workers, settings.kepbot_queue_size) == (9000, 3, 50)
    assert settings.kepbot_drain_seconds == 2.5
    assert settings.kepbot_max_body_bytes == 1000
    assert settings.kepbot_log_level == "DEBUG"
    assert settings.webhook_secret() == b"from-env"


def test_private_key_from_text_with_escaped_newlines() -> None:
    one_line = PEM.strip().replace("\n", "\\n")
    settings = Settings(github_webhook_secret="s", github_app_id=1, github_private_key=one_line)
    assert settings.private_key() == PEM


def test_token_mode_has_no_private_key() -> None:
    settings = Settings(github_webhook_secret="s", github_token="t")
    with pytest.raises(SettingsError, match="token mode"):
        settings.private_key()


def test_missing_secret_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    with pytest.raises(SettingsError) as caught:
        Settings.from_env()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("GITHUB_WEBHOOK_SECRET is not set")


def test_empty_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "")
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    with pytest.raises(SettingsError, match="GITHUB_WEBHOOK_SECRET is not set"):
        Settings.from_env()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no GitHub credentials"),
        ({"GITHUB_TOKEN": "t", "GITHUB_APP_ID": "1"}, "not both; also set: GITHUB_APP_ID"),
        ({"GITHUB_APP_ID": "1"}, "set exactly one of GITHUB_PRIVATE_KEY"),
        ({"GITHUB_PRIVATE_KEY": PEM}, "GITHUB_APP_ID is required"),
        (
            {"GITHUB_APP_ID": "1", "GITHUB_PRIVATE_KEY": PEM, "GITHUB_PRIVATE_KEY_PATH": "/x"},
            "set exactly one of",
        ),
        ({"GITHUB_APP_ID": "1", "GITHUB_PRIVATE_KEY_PATH": "/no/such.pem"}, "does not name a file"),
        ({"GITHUB_TOKEN": "t", "GITHUB_API_URL": "api.github.com"}, "GITHUB_API_URL: must be"),
        ({"GITHUB_TOKEN": "t", "KEPBOT_LOG_LEVEL": "loud"}, "KEPBOT_LOG_LEVEL: must be one of"),
        ({"GITHUB_TOKEN": "t", "KEPBOT_WORKERS": "0"}, "KEPBOT_WORKERS:"),
        ({"GITHUB_TOKEN": "t", "PORT": "http"}, "PORT:"),
    ],
)
def test_invalid_configuration_is_explained(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "s")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        Settings.from_env()
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_keyword_is_an_error() -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate(
            {"github_webhook_secret": "s", "github_token": "t", "kepbot_worker": 2}
        )
