"""One typed settings object, read from the environment (and an optional `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.security.netguard import parse_networks
from server.storage.objectstore import StorageError, parse_storage_url


class Settings(BaseSettings):
    """Every variable is documented in README.md ("Configuration")."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    host: str = Field("127.0.0.1", alias="HOST")
    port: int = Field(8000, alias="PORT")
    public_url: str = Field("", alias="VIVA_PUBLIC_URL")
    data_dir: Path = Field(Path("./data"), alias="VIVA_DATA_DIR")
    redis_url: str | None = Field(None, alias="REDIS_URL")
    log_level: str = Field("info", alias="VIVA_LOG_LEVEL")

    # Models: a local path or a name; empty means the packaged default.
    whisper_model: str = Field("", alias="WHISPER_MODEL")
    whisper_compute_type: str = Field("int8", alias="WHISPER_COMPUTE_TYPE")
    whisper_threads: int = Field(2, alias="WHISPER_THREADS")
    piper_voice: str = Field("", alias="PIPER_VOICE")
    vad_model: str = Field("", alias="VAD_MODEL")
    speaker_encoder: str = Field("", alias="SPEAKER_ENCODER")
    embedding_model: str = Field("", alias="EMBEDDING_MODEL")
    preload_models: bool = Field(True, alias="VIVA_PRELOAD_MODELS")

    # Candidate isolation: who speaks on the candidate's microphone, and what is recorded.
    diarization_backend: Literal["resemblyzer", "pyannote"] = Field(
        "resemblyzer", alias="DIARIZATION_BACKEND"
    )
    pyannote_pipeline: str = Field("", alias="PYANNOTE_PIPELINE")
    hf_token: str = Field("", alias="HF_TOKEN")
    record_full: bool = Field(False, alias="VIVA_RECORD_FULL")

    # The voice loop's turn-taking (pipeline/voice/config.py holds what each one does).
    patience_ms: float = Field(2000.0, alias="VIVA_PATIENCE_MS", gt=0)
    unfinished_extra_ms: float = Field(1000.0, alias="VIVA_UNFINISHED_EXTRA_MS", ge=0)
    repair_window_ms: float = Field(3000.0, alias="VIVA_REPAIR_WINDOW_MS", ge=0)
    answer_grace_s: float = Field(30.0, alias="VIVA_ANSWER_GRACE_S", gt=0)
    # Wall time with no audio at all after which an open answer ends (a client gone, or muted for
    # good); a shorter gap ends nothing (docs/stream-protocol.md, "Gaps, stalls, half duplex").
    input_quiet_ms: float = Field(6000.0, alias="VIVA_INPUT_QUIET_MS", gt=0)
    # Voice streams this process serves at once; more are refused (close 1013, retry later)
    # instead of slowing every interview. The default is what `make bench` measured on 2 cores.
    max_streams: int = Field(8, alias="VIVA_MAX_STREAMS", ge=1)
    # Of those, the most one tenant may hold (issue 24 #2: a public demo tenant held them all).
    # Unset: half of VIVA_MAX_STREAMS (at least 1); 0: no cap.
    max_streams_per_tenant: int | None = Field(None, alias="VIVA_MAX_STREAMS_PER_TENANT", ge=0)
    connects_per_minute: int = Field(12, alias="VIVA_CONNECTS_PER_MINUTE", ge=1)
    vad_min_speech_ms: float = Field(250.0, alias="VIVA_VAD_MIN_SPEECH_MS", gt=0)
    barge_in_ms: float = Field(300.0, alias="VIVA_BARGE_IN_MS", gt=0)
    tts_lead_ms: float = Field(250.0, alias="VIVA_TTS_LEAD_MS", ge=0)
    partial_every_ms: float = Field(700.0, alias="VIVA_PARTIAL_EVERY_MS", gt=0)

    # The LLM interviewer: any OpenAI-compatible chat-completions endpoint; unset = structured.
    llm_base_url: str = Field("", alias="LLM_BASE_URL")
    llm_model: str = Field("", alias="LLM_MODEL")
    llm_api_key: str = Field("", alias="LLM_API_KEY")
    llm_timeout_s: float = Field(20.0, alias="LLM_TIMEOUT_S", gt=0)

    # REST API: limits per tenant (a tenant's own record may override them), tokens, webhooks.
    rate_limit_per_minute: int = Field(600, alias="VIVA_RATE_LIMIT_PER_MINUTE", ge=1)
    session_rate_limit_per_minute: int = Field(
        120, alias="VIVA_SESSION_RATE_LIMIT_PER_MINUTE", ge=1
    )
    session_idle_timeout_s: int = Field(900, alias="VIVA_SESSION_IDLE_TIMEOUT_S", ge=30)
    daily_session_quota: int = Field(500, alias="VIVA_DAILY_SESSION_QUOTA", ge=0)
    session_token_ttl_s: int = Field(7 * 24 * 3600, alias="VIVA_SESSION_TOKEN_TTL_S", ge=60)
    webhook_max_attempts: int = Field(8, alias="VIVA_WEBHOOK_MAX_ATTEMPTS", ge=1)
    webhook_backoff_s: float = Field(5.0, alias="VIVA_WEBHOOK_BACKOFF_S", gt=0)
    webhook_timeout_s: float = Field(10.0, alias="VIVA_WEBHOOK_TIMEOUT_S", gt=0)

    # The demo host page at /demo creates sessions with this tenant API key, server-side.
    demo_enabled: bool = Field(False, alias="VIVA_DEMO_ENABLED")
    demo_api_key: str = Field("", alias="VIVA_DEMO_API_KEY")

    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    # hardening (issue 12): request bodies, webhook targets and concurrency, invite links.
    max_body_bytes: int = Field(1 << 20, alias="VIVA_MAX_BODY_BYTES", ge=1024)
    # Coding round (docs/coding-round.md): sandboxed runs at once in the process (the cores),
    # and runs one tenant may have queued or running before the next is a 429.
    code_concurrency: int = Field(2, alias="VIVA_CODE_CONCURRENCY", ge=1, le=64)
    code_queue_per_tenant: int = Field(4, alias="VIVA_CODE_QUEUE_PER_TENANT", ge=1, le=1000)
    webhook_allow_networks: str = Field("", alias="VIVA_WEBHOOK_ALLOW_NETWORKS")
    webhook_concurrency: int = Field(16, alias="VIVA_WEBHOOK_CONCURRENCY", ge=1)
    webhook_tenant_concurrency: int = Field(2, alias="VIVA_WEBHOOK_TENANT_CONCURRENCY", ge=1)
    invite_rate_limit_per_minute: int = Field(10, alias="VIVA_INVITE_RATE_LIMIT_PER_MINUTE", ge=1)
    invite_interview_rate_limit_per_minute: int = Field(
        30, alias="VIVA_INVITE_INTERVIEW_RATE_LIMIT_PER_MINUTE", ge=1
    )
    # bias audits (issue 24, #7): categories with fewer sessions are suppressed; periods are
    # whole UTC days, at least this many.
    audit_min_group: int = Field(5, alias="VIVA_AUDIT_MIN_GROUP", ge=1)
    audit_min_window_days: int = Field(7, alias="VIVA_AUDIT_MIN_WINDOW_DAYS", ge=1)

    @model_validator(mode="after")
    def _tenant_stream_cap(self) -> Settings:
        if self.max_streams_per_tenant is None:
            self.max_streams_per_tenant = max(1, self.max_streams // 2)
        return self

    @field_validator("phone_call_prefixes")
    @classmethod
    def _valid_prefixes(cls, value: str) -> str:
        from server.phone.destinations import parse_prefixes

        parse_prefixes(value)  # ValueError naming the entry that is not a prefix
        return value

    @field_validator("webhook_allow_networks")
    @classmethod
    def _valid_networks(cls, value: str) -> str:
        parse_networks(value)  # ValueError naming the entry that is not a network
        return value

    # issue 12, data: a recording's longest kept silence (longer ones are cut, and the cut noted).
    recording_max_gap_s: float = Field(60.0, alias="VIVA_RECORDING_MAX_GAP_S", gt=0)

    # issue 13: the phone channel over Twilio (server/phone/). Unset SID/token: phone is off.
    # Twilio must reach VIVA_PUBLIC_URL (webhook and Media Streams WebSocket).
    twilio_account_sid: str = Field("", alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: str = Field("", alias="TWILIO_AUTH_TOKEN", repr=False)
    twilio_api_base: str = Field("https://api.twilio.com", alias="TWILIO_API_BASE")
    twilio_phone_number: str = Field("", alias="TWILIO_PHONE_NUMBER")  # From of outbound calls
    twilio_timeout_s: float = Field(10.0, alias="TWILIO_TIMEOUT_S", gt=0)
    # issue 24 #1: phone PINs live at most this long (and never past the session's token), and
    # the whole server takes at most this many wrong PINs an hour (docs/security.md: the odds).
    phone_pin_ttl_s: int = Field(24 * 3600, alias="VIVA_PHONE_PIN_TTL_S", ge=60)
    phone_pin_guesses_per_hour: int = Field(120, alias="VIVA_PHONE_PIN_GUESSES_PER_HOUR", ge=1)
    # issue 24 #5: where and how often outbound calls may go (server/phone/outbound.py): E.164
    # prefixes allowed (unset: the country of TWILIO_PHONE_NUMBER; `*`: anywhere), calls per
    # session, and per tenant per UTC day.
    phone_call_prefixes: str = Field("", alias="VIVA_PHONE_CALL_PREFIXES")
    phone_calls_per_session: int = Field(3, alias="VIVA_PHONE_CALLS_PER_SESSION", ge=0)
    phone_calls_per_tenant_per_day: int = Field(
        50, alias="VIVA_PHONE_CALLS_PER_TENANT_PER_DAY", ge=0
    )
    # issue 24 #13: the key of stored keyed hashes; unset: $VIVA_DATA_DIR/secret.key (0600).
    secret_key: str = Field("", alias="VIVA_SECRET_KEY", repr=False)

    # issue 16: the first five minutes. `viva serve` (so `make run`) provisions a local demo
    # tenant and serves /demo: `auto` only when HOST is a loopback address, `on` on any address,
    # `off` never. VIVA_DEMO_API_KEY set: that tenant is used and nothing is provisioned.
    demo: Literal["auto", "on", "off"] = Field("auto", alias="VIVA_DEMO")

    # issue 26: recordings in S3-compatible object storage (server/storage/objectstore.py). Unset: files
    # under VIVA_DATA_DIR. Credentials: boto3's standard chain (AWS_ACCESS_KEY_ID...).
    storage_url: str = Field("", alias="VIVA_STORAGE_URL")  # s3://bucket/prefix
    s3_endpoint: str = Field("", alias="VIVA_S3_ENDPOINT")  # unset: AWS
    s3_region: str = Field("", alias="VIVA_S3_REGION")

    @field_validator("storage_url")
    @classmethod
    def _valid_storage_url(cls, value: str) -> str:
        if value:
            try:
                parse_storage_url(value)
            except StorageError as exc:
                raise ValueError(str(exc)) from exc
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
