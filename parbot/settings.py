"""Settings from the environment or a `.env` file (every one documented in .env.example)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field("sqlite:///parbot.db", validation_alias="PARBOT_DATABASE_URL")
    timezone: str = Field("Asia/Ho_Chi_Minh", validation_alias="PARBOT_TIMEZONE")
    language: str = Field("vi", validation_alias="PARBOT_LANGUAGE", pattern="^(vi|en)$")
    evidence_dir: Path = Field(Path("evidence"), validation_alias="PARBOT_EVIDENCE_DIR")
    telegram_token: SecretStr | None = Field(None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base: str = Field("https://api.telegram.org", validation_alias="TELEGRAM_API_BASE")
    bot_username: str | None = Field(None, validation_alias="PARBOT_BOT_USERNAME")
    admin_contact: str = Field("Sở Nội vụ", validation_alias="PARBOT_ADMIN_CONTACT")
    send_rate_global: float = Field(25.0, gt=0, validation_alias="PARBOT_SEND_RATE_GLOBAL")
    send_rate_per_chat: float = Field(1.0, gt=0, validation_alias="PARBOT_SEND_RATE_PER_CHAT")
    send_max_attempts: int = Field(5, ge=1, validation_alias="PARBOT_SEND_MAX_ATTEMPTS")
    reminder_grace_hours: float = Field(12.0, ge=0, validation_alias="PARBOT_REMINDER_GRACE_HOURS")
    sweep_interval_seconds: int = Field(60, ge=1, validation_alias="PARBOT_SWEEP_INTERVAL_SECONDS")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
