"""Settings from the environment or a `.env` file (every one documented in .env.example)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    # An empty value (`TELEGRAM_BOT_TOKEN=` as in .env.example) means "not set", not an invalid value.
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    database_url: str = Field("sqlite:///parbot.db", validation_alias="PARBOT_DATABASE_URL")
    timezone: str = Field("Asia/Ho_Chi_Minh", validation_alias="PARBOT_TIMEZONE")
    language: str = Field("vi", validation_alias="PARBOT_LANGUAGE", pattern="^(vi|en)$")
    evidence_dir: Path = Field(Path("evidence"), validation_alias="PARBOT_EVIDENCE_DIR")
    telegram_token: SecretStr | None = Field(None, validation_alias="TELEGRAM_BOT_TOKEN")
    # PARBOT_TELEGRAM_API_BASE is the name to use; TELEGRAM_API_BASE is still read for existing set-ups.
    telegram_api_base: str = Field("https://api.telegram.org",
                                   validation_alias=AliasChoices("PARBOT_TELEGRAM_API_BASE", "TELEGRAM_API_BASE"))
    bot_username: str | None = Field(None, validation_alias="PARBOT_BOT_USERNAME")
    admin_contact: str = Field("Sở Nội vụ", validation_alias="PARBOT_ADMIN_CONTACT")
    send_rate_global: float = Field(25.0, gt=0, validation_alias="PARBOT_SEND_RATE_GLOBAL")
    send_rate_per_chat: float = Field(1.0, gt=0, validation_alias="PARBOT_SEND_RATE_PER_CHAT")
    send_max_attempts: int = Field(5, ge=1, validation_alias="PARBOT_SEND_MAX_ATTEMPTS")
    reminder_grace_hours: float = Field(12.0, ge=0, validation_alias="PARBOT_REMINDER_GRACE_HOURS")
    sweep_interval_seconds: int = Field(60, ge=1, validation_alias="PARBOT_SWEEP_INTERVAL_SECONDS")
    proxy_url: str | None = Field(None, validation_alias="PARBOT_PROXY_URL")
    zalo_token: SecretStr | None = Field(None, validation_alias="PARBOT_ZALO_BOT_TOKEN")
    zalo_api_base: str = Field("https://bot-api.zaloplatforms.com", validation_alias="PARBOT_ZALO_API_BASE")
    zalo_send_rate_global: float = Field(5.0, gt=0, validation_alias="PARBOT_ZALO_SEND_RATE_GLOBAL")
    zalo_send_rate_per_chat: float = Field(0.5, gt=0, validation_alias="PARBOT_ZALO_SEND_RATE_PER_CHAT")
    public_url: str | None = Field(None, validation_alias="PARBOT_PUBLIC_URL", pattern="^https?://")
    webhook_token: SecretStr | None = Field(None, validation_alias="PARBOT_WEBHOOK_SECRET", min_length=8,
                                             max_length=256)
    link_key: SecretStr | None = Field(None, validation_alias="PARBOT_LINK_SECRET", min_length=16)
    link_ttl_hours: float = Field(72.0, gt=0, validation_alias="PARBOT_LINK_TTL_HOURS")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
