"""A small client for OpenAI-compatible chat completions: streamed text, and validated JSON.

Connection failures, timeouts and 5xx answers are retried with exponential back-off before the
first token; a failure after that is raised, never hidden, so the engine can fall back.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

ModelT = TypeVar("ModelT", bound=BaseModel)
Message = dict[str, str]


class LLMError(Exception):
    """Base of LLM failures: the engine falls back to the structured interviewer on any."""


class LLMUnavailable(LLMError):
    """The endpoint could not be reached, timed out, or answered with an error."""


class LLMBadOutput(LLMError):
    """The model's answer could not be repaired into the expected JSON."""


class _Retryable(LLMUnavailable):
    """A failure worth trying again: connection, timeout, 5xx, 429."""


@dataclass(frozen=True)
class LLMConfig:
    base_url: str  # e.g. http://127.0.0.1:8080/v1
    model: str = ""
    api_key: str = ""
    timeout_s: float = 20.0
    attempts: int = 3  # tries per request, back-off between them
    backoff_s: float = 0.25


class ChatClient:
    def __init__(self, config: LLMConfig, transport: httpx.AsyncBaseTransport | None = None):
        self.config = config
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._http = httpx.AsyncClient(
            base_url=config.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(config.timeout_s, connect=min(config.timeout_s, 5.0)),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def _retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            retry=retry_if_exception_type(_Retryable),
            stop=stop_after_attempt(self.config.attempts),
            wait=wait_exponential(multiplier=self.config.backoff_s, max=4 * self.config.backoff_s),
            reraise=True,
        )

    def _body(self, messages: list[Message], **options: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"messages": messages, **options}
        if self.config.model:
            body["model"] = self.config.model
        return body

    async def stream_text(
        self, messages: list[Message], *, max_tokens: int = 48, temperature: float = 0.4
    ) -> AsyncIterator[str]:
        """The reply's text as it streams, piece by piece."""
        body = self._body(messages, stream=True, max_tokens=max_tokens, temperature=temperature)
        async for attempt in self._retrying():
            with attempt:
                response = await self._send("chat/completions", body, stream=True)
        try:
            async for line in response.aiter_lines():
                piece = _delta(line)
                if piece is None:
                    break
                if piece:
                    yield piece
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            raise LLMUnavailable(f"stream broke: {exc!r}") from exc
        finally:
            await response.aclose()

    async def complete_json(
        self, messages: list[Message], schema: type[ModelT], *, max_tokens: int = 160
    ) -> ModelT:
        """A JSON answer validated against `schema`, repaired if it is nearly right."""
        body = self._body(
            messages,
            max_tokens=max_tokens,
            temperature=0.0,
            # Servers that support it constrain decoding to the schema; others ignore it.
            response_format={"type": "json_object", "schema": schema.model_json_schema()},
        )
        async for attempt in self._retrying():
            with attempt:
                response = await self._send("chat/completions", body, stream=False)
        try:
            content = response.json()["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMBadOutput(f"not a chat completion: {response.text[:200]!r}") from exc
        return parse_json_answer(content, schema)

    async def model_id(self) -> str:
        """The model's name: the configured one, else the first the server lists (a file path
        reduced to its name); "" when the server does not say."""
        if self.config.model:
            return self.config.model
        try:
            response = await self._http.get("models")
            name = str(response.json()["data"][0]["id"])
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError):
            return ""
        return name.replace("\\", "/").rsplit("/", 1)[-1]

    async def _send(self, path: str, body: dict[str, Any], *, stream: bool) -> httpx.Response:
        try:
            request = self._http.build_request("POST", path, json=body)
            response = await self._http.send(request, stream=stream)
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            raise _Retryable(f"{self.config.base_url}: {exc!r}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            await response.aclose()
            raise _Retryable(f"{self.config.base_url}: HTTP {response.status_code}")
        if response.status_code >= 400:
            await response.aread()
            raise LLMUnavailable(f"HTTP {response.status_code}: {response.text[:200]}")
        return response


def _delta(line: str) -> str | None:
    """The text in one server-sent event line; None at the end of the stream."""
    if not line.startswith("data:"):
        return ""
    data = line[5:].strip()
    if data == "[DONE]":
        return None
    try:
        choice = json.loads(data)["choices"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return ""
    return str((choice.get("delta") or {}).get("content") or "")


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def parse_json_answer(text: str, schema: type[ModelT]) -> ModelT:
    """Validate a model's JSON answer; repair fences, prose around it, trailing commas, quotes."""
    for candidate in _repairs(text):
        try:
            return schema.model_validate_json(candidate)
        except ValidationError:
            continue
    raise LLMBadOutput(f"no valid {schema.__name__} in {text[:200]!r}")


def _repairs(text: str) -> list[str]:
    stripped = _FENCE.sub("", text.strip())
    start, end = stripped.find("{"), stripped.rfind("}")
    body = stripped[start : end + 1] if 0 <= start < end else stripped
    no_commas = _TRAILING_COMMA.sub(r"\1", body)
    attempts = [text, stripped, body, no_commas]
    if '"' not in no_commas:
        attempts.append(no_commas.replace("'", '"'))
    return list(dict.fromkeys(attempts))
