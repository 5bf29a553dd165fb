"""``LLM``: chat completions and typed structured output with retries, limits, memo and meters."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import weakref
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import fastavro
import openai

from agentstream.config import KafkaSettings
from agentstream.errors import (
    LLMError,
    LLMOutputError,
    LLMRateLimitError,
    LLMRequestError,
    LLMServerError,
    LLMTimeoutError,
)
from agentstream.llm import _metrics
from agentstream.llm._embed import Embedder
from agentstream.llm._limiter import RateLimiter, retry_delay
from agentstream.llm._memo import MemoStore, encode, memo_key, now_iso
from agentstream.llm._meter import Meter
from agentstream.llm._offline import offline_completion, offline_structured
from agentstream.llm._schema import json_schema, validate
from agentstream.llm._settings import EmbeddingSettings, LLMSettings
from agentstream.runtime import pressure as _pressure
from agentstream.schemas import JsonFieldError, Record, from_json, parsed_schema

__all__ = ["LLM", "Completion", "Prompt"]

log = logging.getLogger("agentstream.llm")

R = TypeVar("R", bound=Record)
Prompt = str | Sequence[Mapping[str, Any]]
_OFFLINE_MODEL = "offline-extractive"
_offline_logged = False


@dataclass(frozen=True)
class Completion:
    """One answer: its text, the model, token usage, and whether it came from the memo."""

    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    memoised: bool = False
    offline: bool = False


def _messages(prompt: Prompt, system: str | None) -> list[dict[str, Any]]:
    msgs: list[dict[str, Any]] = []
    if system:
        msgs.append({"role": "system", "content": system})
    if isinstance(prompt, str):
        msgs.append({"role": "user", "content": prompt})
    else:
        msgs.extend(dict(m) for m in prompt)
    return msgs


def _estimate(messages: Sequence[Mapping[str, Any]], max_tokens: int | None) -> int:
    chars = sum(len(str(m.get("content") or "")) for m in messages)
    return chars // 4 + 4 * len(messages) + (max_tokens if max_tokens is not None else 256)


class LLM:
    """The one way an agent calls a model. Create one per process (it holds the rate limiter)::

        llm = LLM("risk-agent")            # settings from OPENAI_* / AGENTSTREAM_LLM_*

        @agent.handler(PullRequestOpened, topic="events.code")
        async def on_pr(event, ctx):
            risk = await llm.structured(RiskDetected, f"title: {event.title}", ctx=ctx,
                                        fixed={"meta": ctx.meta(RiskDetected), "based_on": ...})

    Pass ``ctx`` (the handler's ``Context`` or a workflow ``StepContext``) to memoise the call
    under (input topic, partition, offset, call ordinal): a redelivered input gets the stored
    answer instead of paying again. See docs/llm.md for retries, limits and budgets.
    """

    def __init__(
        self,
        agent: str,
        *,
        settings: LLMSettings | None = None,
        embedding: EmbeddingSettings | None = None,
        kafka: KafkaSettings | None = None,
    ) -> None:
        self.agent = agent
        self.settings = s = settings or LLMSettings()
        self.offline = s.is_offline
        self._kafka = kafka
        self.limiter = RateLimiter(
            agent=agent, rpm=s.rpm, tpm=s.tpm, wait_deadline=s.limiter_wait,
            min_in_flight=s.backpressure_min_in_flight,
        )
        self.meter = Meter(agent, s)
        self._client: openai.AsyncOpenAI | None = None
        if not self.offline:
            self._client = openai.AsyncOpenAI(
                base_url=s.base_url, api_key=s.api_key or "unused", max_retries=0,
                timeout=s.timeout.total_seconds(),
            )
        else:
            _log_offline_once()
        self.embedder = Embedder(embedding or EmbeddingSettings(), client=self._client,
                                 offline=self.offline)
        self._memo: MemoStore | None = None
        self._ordinals: dict[int, int] = {}
        _pressure.register(self.limiter)

    # -- public API -----------------------------------------------------------------------------
    async def complete(
        self,
        prompt: Prompt,
        *,
        ctx: Any = None,
        system: str | None = None,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stream: bool = False,
    ) -> Completion:
        """A chat completion. ``stream=True`` reads the answer as a stream (long generations
        keep the connection busy instead of idle) and returns it whole."""
        msgs = _messages(prompt, system)
        return await self._call(msgs, ctx=ctx, model=model, max_tokens=max_tokens,
                                temperature=temperature, stream=stream, schema=None)

    async def structured(
        self,
        record_type: type[R],
        prompt: Prompt,
        *,
        ctx: Any = None,
        fixed: Mapping[str, Any] | None = None,
        system: str | None = None,
        model: str | None = None,
        max_tokens: int | None = None,
    ) -> R:
        """A ``record_type`` filled by the model: the fields in ``fixed`` (e.g. ``meta``) are set
        by the caller, the model answers the others as JSON matching the JSON Schema derived
        from the record's Avro schema. An answer that does not validate gets ONE repair request
        quoting the validation errors; if that fails too, ``LLMOutputError`` (non-retryable:
        the runtime dead-letters the input with the errors as reason)."""
        fixed = dict(fixed or {})
        avro = record_type.SCHEMA
        schema = json_schema(avro, exclude=fixed)
        name = avro["name"]
        instruction = (
            f"Answer with one JSON object (no prose, no code fence) for a {name} record, "
            f"matching this JSON Schema:\n{json.dumps(schema)}"
        )
        msgs = _messages(prompt, "\n\n".join(x for x in (system, instruction) if x))
        fmt = {"type": "json_schema",
               "json_schema": {"name": name, "schema": schema, "strict": False}}
        used_model = model or self.settings.model
        first = await self._call(msgs, ctx=ctx, model=model, max_tokens=max_tokens,
                                 response_format=fmt, schema=schema)
        value, problems = _parse(first.text, avro, fixed)
        if not problems:
            return _build(record_type, value, fixed, used_model)
        self.meter.error(used_model, "invalid_output")
        repair = [*msgs, {"role": "assistant", "content": first.text}, {
            "role": "user",
            "content": "Your answer does not match the schema:\n- " + "\n- ".join(problems)
            + "\nAnswer again with the corrected JSON object only.",
        }]
        second = await self._call(repair, ctx=ctx, model=model, max_tokens=max_tokens,
                                  response_format=fmt, schema=schema)
        value, problems2 = _parse(second.text, avro, fixed)
        if problems2:
            self.meter.error(used_model, "invalid_output")
            raise LLMOutputError(
                f"llm-invalid-output: {used_model} did not answer a valid {name} after one "
                f"repair request: {'; '.join(problems2)}",
                model=used_model, problems=problems2,
            )
        return _build(record_type, value, fixed, used_model)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors of ``texts`` (batched, metered); see ``Embedder``."""
        return await self.embedder.embed(texts)

    async def aclose(self) -> None:
        """Release the limiter, the memo's Kafka clients and the HTTP connections (call it on
        the loop that made the calls)."""
        _pressure.unregister(self.limiter)
        if self._memo is not None:
            await asyncio.to_thread(self._memo.close)
            self._memo = None
        if self._client is not None:
            await self._client.close()

    def close(self) -> None:
        """``aclose`` from outside the loop that made the calls (HTTP connections are left to
        that loop's end)."""
        _pressure.unregister(self.limiter)
        if self._memo is not None:
            self._memo.close()
            self._memo = None

    # -- the call -------------------------------------------------------------------------------
    def _next_ordinal(self, ctx: Any) -> int:
        """The ordinal of the next call made with ``ctx`` (keyed by identity: a workflow
        ``StepContext`` is not hashable; forgotten when the context is collected)."""
        key = id(ctx)
        n = self._ordinals.get(key)
        if n is None:
            n = 0
            weakref.finalize(ctx, self._ordinals.pop, key, None)
        self._ordinals[key] = n + 1
        return n

    async def _memo_store(self) -> MemoStore:
        if self._memo is None:
            self._memo = MemoStore(
                self.agent, kafka=self._kafka or KafkaSettings(),
                partitions=self.settings.memo_partitions, retention=self.settings.memo_retention,
            )
            await self._memo.get("")  # opens and reads it
            self.meter.seed(self._memo.tokens_since(Meter.day_start()))
        return self._memo

    async def _call(
        self,
        msgs: list[dict[str, Any]],
        *,
        ctx: Any,
        model: str | None,
        max_tokens: int | None,
        schema: dict[str, Any] | None,
        temperature: float | None = None,
        stream: bool = False,
        response_format: dict[str, Any] | None = None,
    ) -> Completion:
        used_model = _OFFLINE_MODEL if self.offline else (model or self.settings.model)
        key = None
        if ctx is not None and self.settings.memo:
            key = memo_key(ctx, self._next_ordinal(ctx))
        memo = await self._memo_store() if key is not None else None
        if memo is not None and key is not None:
            asked = time.monotonic()
            hit = await memo.get(key)
            _metrics.MEMO_WAIT.labels(self.agent).observe(time.monotonic() - asked)
            if hit is not None:
                _metrics.MEMO_HITS.labels(self.agent).inc()
                await _copy_with_input(ctx, memo.topic, key, hit)
                usage = hit.get("usage") or {}
                return Completion(str(hit.get("content", "")), str(hit.get("model", "")),
                                  int(usage.get("prompt_tokens", 0)),
                                  int(usage.get("completion_tokens", 0)), memoised=True,
                                  offline=bool(hit.get("offline", False)))
        self.meter.check(used_model)
        if self.offline:
            result = self._offline(msgs, schema)
        else:
            result = await self._request(msgs, model=used_model, stream=stream,
                                         max_tokens=max_tokens or self.settings.max_tokens,
                                         temperature=temperature,
                                         response_format=response_format)
        if memo is not None and key is not None:
            value = {"content": result.text, "model": result.model, "at": now_iso(),
                     "offline": result.offline,
                     "usage": {"prompt_tokens": result.prompt_tokens,
                               "completion_tokens": result.completion_tokens}}
            await memo.put(key, value)
            await _copy_with_input(ctx, memo.topic, key, value)
        return result

    def _offline(self, msgs: list[dict[str, Any]], schema: dict[str, Any] | None) -> Completion:
        text = offline_structured(msgs, schema) if schema else offline_completion(msgs)
        prompt_tokens = _estimate(msgs, 0)
        completion_tokens = len(text) // 4 + 1
        self.meter.record(_OFFLINE_MODEL, prompt_tokens=prompt_tokens,
                          completion_tokens=completion_tokens, latency=0.0)
        return Completion(text, _OFFLINE_MODEL, prompt_tokens, completion_tokens, offline=True)

    async def _request(
        self,
        msgs: list[dict[str, Any]],
        *,
        model: str,
        stream: bool,
        max_tokens: int | None,
        temperature: float | None,
        response_format: dict[str, Any] | None,
    ) -> Completion:
        """One logical call: limiter, HTTP request, the 429 and 5xx/timeout retry budgets."""
        s = self.settings
        estimate = _estimate(msgs, max_tokens)
        rate_tries = server_tries = 0
        while True:
            await self.limiter.acquire(estimate)
            started = time.monotonic()
            kind = ""
            delay: float | None = None
            try:
                text, usage, headers = await self._http(
                    msgs, model=model, stream=stream, max_tokens=max_tokens,
                    temperature=temperature, response_format=response_format,
                )
            except openai.RateLimitError as exc:
                kind, delay = "rate_limit", retry_delay(exc.response.headers)
                err: BaseException = exc
            except (openai.APITimeoutError, TimeoutError) as exc:
                kind, err = "timeout", exc
            except openai.APIConnectionError as exc:
                kind, err = "connection", exc
            except openai.APIStatusError as exc:
                if exc.status_code < 500 and exc.status_code != 408:
                    self.limiter.release()
                    self.meter.error(model, "request")
                    raise LLMRequestError(
                        f"llm-request-refused: {model} answered {exc.status_code}: {exc.message}",
                        model=model, attempts=rate_tries + server_tries + 1,
                    ) from exc
                kind, delay, err = "server", retry_delay(exc.response.headers), exc
            else:
                latency = time.monotonic() - started
                self.limiter.release(latency)
                self.limiter.succeeded(estimated=estimate, used=usage[0] + usage[1],
                                       headers=headers)
                self.meter.record(model, prompt_tokens=usage[0], completion_tokens=usage[1],
                                  latency=latency)
                return Completion(text, model, usage[0], usage[1])
            self.limiter.release()
            self.meter.error(model, kind)
            attempts = rate_tries + server_tries + 1
            if kind == "rate_limit":
                rate_tries += 1
                wait = delay if delay is not None else self._backoff(rate_tries)
                self.limiter.rate_limited_for(wait)
                if rate_tries > s.rate_limit_retries or wait > s.max_retry_after.total_seconds():
                    raise LLMRateLimitError(
                        f"llm-rate-limited: {model} answered 429 {rate_tries} time(s) (budget "
                        f"{s.rate_limit_retries}); retry after {wait:.1f}s",
                        model=model, attempts=attempts, next_retry_delay=timedelta(seconds=wait),
                    ) from err
                log.info("%s: 429 from %s, waiting %.2fs (try %d of %d)", self.agent, model,
                         wait, rate_tries, s.rate_limit_retries)
                continue  # the limiter is closed for ``wait``: the next acquire waits it out
            server_tries += 1
            wait = min(delay if delay is not None else self._backoff(server_tries),
                       s.backoff_max.total_seconds())
            if server_tries > s.server_retries:
                cls: type[LLMError] = LLMTimeoutError if kind == "timeout" else LLMServerError
                raise cls(
                    f"llm-{kind}: {model} failed {server_tries} time(s) (budget "
                    f"{s.server_retries}, timeout {s.timeout.total_seconds():g}s): {err}",
                    model=model, attempts=attempts, next_retry_delay=timedelta(seconds=wait),
                ) from err
            log.info("%s: %s from %s, retrying in %.2fs (try %d of %d)", self.agent, kind, model,
                     wait, server_tries, s.server_retries)
            await asyncio.sleep(wait)
            _metrics.LIMITER_WAIT.labels(self.agent).observe(wait)

    def _backoff(self, n: int) -> float:
        base = self.settings.backoff_initial.total_seconds() * 2 ** (n - 1)
        base = min(base, self.settings.backoff_max.total_seconds())
        return float(base * random.uniform(0.8, 1.2))

    async def _http(
        self,
        msgs: list[dict[str, Any]],
        *,
        model: str,
        stream: bool,
        max_tokens: int | None,
        temperature: float | None,
        response_format: dict[str, Any] | None,
    ) -> tuple[str, tuple[int, int], Mapping[str, str]]:
        assert self._client is not None
        kw: dict[str, Any] = {"model": model, "messages": msgs}
        if max_tokens is not None:
            kw["max_tokens"] = max_tokens
        if temperature is not None:
            kw["temperature"] = temperature
        if response_format is not None:
            kw["response_format"] = response_format
        create = self._client.chat.completions.with_raw_response.create
        if not stream:
            raw = await create(**kw)
            completion = raw.parse()
            text = completion.choices[0].message.content or "" if completion.choices else ""
            u = completion.usage
            usage = (u.prompt_tokens, u.completion_tokens) if u else (_estimate(msgs, 0), 0)
            return text, usage, dict(raw.headers)
        raw = await create(stream=True, stream_options={"include_usage": True}, **kw)
        parts: list[str] = []
        usage = (_estimate(msgs, 0), 0)
        async with asyncio.timeout(self.settings.timeout.total_seconds()):
            async for chunk in raw.parse():
                if chunk.choices and chunk.choices[0].delta.content:
                    parts.append(chunk.choices[0].delta.content)
                if chunk.usage is not None:
                    usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
        text = "".join(parts)
        if not usage[1]:
            usage = (usage[0], len(text) // 4 + 1)
        return text, usage, dict(raw.headers)


async def _copy_with_input(ctx: Any, topic: str, key: str, value: dict[str, Any]) -> None:
    """Write the memo entry through the handler's context too: it commits with the input (in
    exactly-once mode in the input's transaction, with its outputs and offsets), also when the
    answer came from the memo after a crash aborted the first transaction."""
    produce_raw = getattr(ctx, "produce_raw", None)
    if produce_raw is not None:
        await produce_raw(topic, key.encode(), encode(value))


def _log_offline_once() -> None:
    global _offline_logged  # noqa: PLW0603 - one plain line per process
    if not _offline_logged:
        _offline_logged = True
        log.warning(
            "no LLM endpoint configured (OPENAI_BASE_URL / OPENAI_API_KEY unset): using the "
            "deterministic OFFLINE model, which copies text from the prompt instead of asking a "
            "language model; set OPENAI_BASE_URL (and OPENAI_API_KEY) for real answers"
        )


def _parse(
    text: str, avro: dict[str, Any], fixed: Collection[str]
) -> tuple[dict[str, Any], list[str]]:
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`")
        body = body[body.find("{"):] if "{" in body else body
    try:
        value = json.loads(body)
    except ValueError as exc:
        return {}, [f"$: not valid JSON ({exc})"]
    problems = validate(value, avro, exclude=fixed)
    return (value if isinstance(value, dict) else {}), problems


def _build(record_type: type[R], value: dict[str, Any], fixed: Mapping[str, Any], model: str) -> R:
    avro = record_type.SCHEMA
    try:
        data = from_json(value, avro)
    except JsonFieldError as exc:
        raise LLMOutputError(f"llm-invalid-output: {exc}", model=model,
                             problems=[str(exc)]) from exc
    for name, v in fixed.items():
        data[name] = v.to_avro() if isinstance(v, Record) else getattr(v, "value", v)
    for f in avro["fields"]:
        if f["name"] not in data:
            data[f["name"]] = f.get("default")
    try:
        fastavro.validation.validate(data, parsed_schema(record_type), raise_errors=True)
    except fastavro.validation.ValidationError as exc:
        raise LLMOutputError(f"llm-invalid-output: {exc}", model=model,
                             problems=[str(exc)]) from exc
    return record_type.from_avro(data)
