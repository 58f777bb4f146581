"""Every setting is documented in .env.example, and the defaults run without any environment."""
from __future__ import annotations

from pathlib import Path

from parbot.settings import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_every_setting_is_documented_in_env_example():
    documented = {line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
                  if line and not line.startswith("#") and "=" in line}
    names = {field.validation_alias for field in Settings.model_fields.values()}
    assert names == documented


def test_defaults_need_no_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in (f.validation_alias for f in Settings.model_fields.values()):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.database_url == "sqlite:///parbot.db"
    assert (settings.timezone, settings.language) == ("Asia/Ho_Chi_Minh", "vi")
    assert settings.telegram_token is None and "secret" not in repr(Settings(TELEGRAM_BOT_TOKEN="secret"))
