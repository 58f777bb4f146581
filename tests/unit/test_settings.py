"""Every setting is documented in .env.example, and the defaults run without any environment."""
from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices

from parbot.settings import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def env_names() -> list[str]:
    """Each setting's documented name (the first of its alias choices: older names are only read)."""
    aliases = (f.validation_alias for f in Settings.model_fields.values())
    return [a.choices[0] if isinstance(a, AliasChoices) else a for a in aliases]


def test_every_setting_is_documented_in_env_example():
    documented = {line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
                  if line and not line.startswith("#") and "=" in line}
    names = set(env_names())
    assert names == documented


def test_defaults_need_no_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in env_names() + ["TELEGRAM_API_BASE"]:
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.database_url == "sqlite:///parbot.db"
    assert (settings.timezone, settings.language) == ("Asia/Ho_Chi_Minh", "vi")
    assert settings.telegram_token is None and "secret" not in repr(Settings(TELEGRAM_BOT_TOKEN="secret"))


def test_telegram_api_base_is_read_under_both_names(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PARBOT_TELEGRAM_API_BASE", raising=False)
    monkeypatch.setenv("TELEGRAM_API_BASE", "http://old")
    assert Settings().telegram_api_base == "http://old"
    monkeypatch.setenv("PARBOT_TELEGRAM_API_BASE", "http://new")
    assert Settings().telegram_api_base == "http://new"
