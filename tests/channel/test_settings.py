"""Settings from credentials.yml and the environment, as Rasa reads them at start-up."""
from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.run import create_http_input_channels
from rasa.shared.exceptions import RasaException

from addons.whatsapp import WhatsAppConfigError, WhatsAppInput, WhatsAppOutput, WhatsAppSettings
from addons.whatsapp.settings import DEFAULT_API_BASE_URL, DEFAULT_API_VERSION, ENV_VARS

ENV = {
    "WHATSAPP_ACCESS_TOKEN": "env-token",
    "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
    "WHATSAPP_APP_SECRET": "env-secret",
    "WHATSAPP_VERIFY_TOKEN": "env-verify",
}

CREDENTIALS_YML = """\
rest:
addons.whatsapp.WhatsAppInput:
  access_token: ${WHATSAPP_ACCESS_TOKEN}
  phone_number_id: ${WHATSAPP_PHONE_NUMBER_ID}
  app_secret: ${WHATSAPP_APP_SECRET}
  verify_token: ${WHATSAPP_VERIFY_TOKEN}
"""


@pytest.fixture
def clean_env(monkeypatch) -> pytest.MonkeyPatch:
    for name in ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_settings_fall_back_to_the_environment(clean_env) -> None:
    for name, value in ENV.items():
        clean_env.setenv(name, value)
    settings = WhatsAppSettings.from_credentials({"access_token": "", "app_secret": None})
    assert settings.access_token == "env-token"
    assert settings.app_secret == "env-secret"
    assert settings.phone_number_id == "106540352242922"
    assert settings.api_version == DEFAULT_API_VERSION
    assert settings.api_base_url == DEFAULT_API_BASE_URL
    assert settings.messages_url == (
        f"https://graph.facebook.com/{DEFAULT_API_VERSION}/106540352242922/messages")


def test_credentials_win_over_the_environment(clean_env) -> None:
    for name, value in ENV.items():
        clean_env.setenv(name, value)
    clean_env.setenv("WHATSAPP_API_BASE_URL", "http://127.0.0.1:8081/")
    clean_env.setenv("WHATSAPP_API_VERSION", "v20.0")
    settings = WhatsAppSettings.from_credentials(
        {"access_token": "file-token", "retry_max_attempts": 2, "dedup_ttl_days": "3"})
    assert settings.access_token == "file-token"
    assert settings.messages_url == "http://127.0.0.1:8081/v20.0/106540352242922/messages"
    assert settings.retry.max_attempts == 2
    assert settings.dedup_ttl_days == 3.0


@pytest.mark.parametrize("missing", sorted(ENV))
def test_a_missing_required_setting_names_its_variable(clean_env, missing: str) -> None:
    for name, value in ENV.items():
        if name != missing:
            clean_env.setenv(name, value)
    with pytest.raises(WhatsAppConfigError, match=missing):
        WhatsAppInput.from_credentials(None)


@pytest.mark.parametrize(
    ("name", "value"),
    [("WHATSAPP_API_VERSION", "21"), ("WHATSAPP_API_BASE_URL", "graph.facebook.com")],
)
def test_malformed_optional_settings_are_refused(clean_env, name: str, value: str) -> None:
    for env_name, env_value in {**ENV, name: value}.items():
        clean_env.setenv(env_name, env_value)
    with pytest.raises(WhatsAppConfigError, match=name):
        WhatsAppSettings.from_credentials({})


def test_rasa_builds_the_channel_from_credentials_yml(clean_env, tmp_path: Path) -> None:
    for name, value in ENV.items():
        clean_env.setenv(name, value)
    path = tmp_path / "credentials.yml"
    path.write_text(CREDENTIALS_YML)
    channels = create_http_input_channels(None, str(path))
    (channel,) = [c for c in channels if isinstance(c, WhatsAppInput)]
    assert channel.name() == "whatsapp" and channel.url_prefix() == "whatsapp"
    assert channel.settings.access_token == "env-token"
    assert channel.settings.verify_token == "env-verify"
    output = channel.get_output_channel()
    assert isinstance(output, WhatsAppOutput) and output.name() == "whatsapp"


def test_an_unset_variable_in_credentials_yml_is_named_in_rasas_error(
    clean_env, tmp_path: Path
) -> None:
    for name, value in ENV.items():
        if name != "WHATSAPP_APP_SECRET":
            clean_env.setenv(name, value)
    path = tmp_path / "credentials.yml"
    path.write_text(CREDENTIALS_YML)
    with pytest.raises(RasaException, match="WHATSAPP_APP_SECRET"):
        create_http_input_channels(None, str(path))


def test_a_quoted_variable_reference_is_expanded_too(clean_env, tmp_path: Path) -> None:
    # Rasa expands ${VAR} only in unquoted YAML values; quoting it is an easy mistake.
    for name, value in ENV.items():
        clean_env.setenv(name, value)
    path = tmp_path / "credentials.yml"
    path.write_text(CREDENTIALS_YML.replace("${WHATSAPP_ACCESS_TOKEN}",
                                            '"${WHATSAPP_ACCESS_TOKEN}"'))
    (channel,) = [c for c in create_http_input_channels(None, str(path))
                  if isinstance(c, WhatsAppInput)]
    assert channel.settings.access_token == "env-token"
    clean_env.delenv("WHATSAPP_ACCESS_TOKEN")
    with pytest.raises(WhatsAppConfigError, match="WHATSAPP_ACCESS_TOKEN"):
        create_http_input_channels(None, str(path))


@pytest.mark.parametrize(
    "url",
    ["http://graph.facebook.com", "http://10.0.0.5:8080", "http://127.0.0.1.evil.example",
     "ftp://127.0.0.1", "https://"],
)
def test_plain_http_base_urls_are_refused_except_for_loopback(clean_env, url: str) -> None:
    for name, value in {**ENV, "WHATSAPP_API_BASE_URL": url}.items():
        clean_env.setenv(name, value)
    with pytest.raises(WhatsAppConfigError, match="WHATSAPP_API_BASE_URL must start with https"):
        WhatsAppSettings.from_credentials({})


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8081", "http://localhost:9000/", "http://[::1]:8081",
            "https://graph.example.org"],
)
def test_https_and_loopback_http_base_urls_are_accepted(clean_env, url: str) -> None:
    for name, value in {**ENV, "WHATSAPP_API_BASE_URL": url}.items():
        clean_env.setenv(name, value)
    assert WhatsAppSettings.from_credentials({}).api_base_url == url.rstrip("/")
