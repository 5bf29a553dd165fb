"""Metering: requests, tokens, latency, errors and cost per agent and model; the daily budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agentstream.errors import LLMBudgetExhaustedError
from agentstream.llm import _metrics
from agentstream.llm._settings import LLMSettings

__all__ = ["Meter"]


class Meter:
    """Counts one agent's use of its models and enforces its daily token budget (UTC days).

    The count lives in the process; with the memo enabled it is rebuilt at start from the
    answers the memo recorded today, so a restart does not hand out the budget again.
    """

    def __init__(self, agent: str, settings: LLMSettings) -> None:
        self.agent = agent
        self.settings = settings
        self.day = datetime.now(UTC).date()
        self.used = 0
        self.cost = 0.0
        self._remaining = _metrics.BUDGET_REMAINING.labels(agent)
        self._publish()

    @staticmethod
    def day_start(now: datetime | None = None) -> datetime:
        now = now or datetime.now(UTC)
        return datetime(now.year, now.month, now.day, tzinfo=UTC)

    def _roll(self) -> None:
        today = datetime.now(UTC).date()
        if today != self.day:
            self.day, self.used = today, 0
            self._publish()

    def _publish(self) -> None:
        budget = self.settings.daily_token_budget
        if budget is not None:
            self._remaining.set(max(0, budget - self.used))

    def seed(self, used_today: int) -> None:
        self._roll()
        self.used = max(self.used, used_today)
        self._publish()

    def check(self, model: str) -> None:
        """Raise ``LLMBudgetExhaustedError`` when today's budget is used up."""
        self._roll()
        budget = self.settings.daily_token_budget
        if budget is not None and self.used >= budget:
            reset = self.day_start() + timedelta(days=1)
            raise LLMBudgetExhaustedError(
                f"llm-budget-exhausted: agent {self.agent} used {self.used} of its "
                f"{budget} daily tokens (AGENTSTREAM_LLM_DAILY_TOKEN_BUDGET); the budget resets "
                f"at {reset.isoformat()}; replay with `agentstream dlq replay {self.agent}`",
                model=model,
            )

    def record(
        self, model: str, *, prompt_tokens: int, completion_tokens: int, latency: float | None
    ) -> None:
        self._roll()
        _metrics.LLM_REQUESTS.labels(self.agent, model, "ok").inc()
        _metrics.LLM_TOKENS.labels(self.agent, model, "prompt").inc(prompt_tokens)
        _metrics.LLM_TOKENS.labels(self.agent, model, "completion").inc(completion_tokens)
        if latency is not None:
            _metrics.LLM_LATENCY.labels(self.agent, model).observe(latency)
        self.used += prompt_tokens + completion_tokens
        price = self.settings.prices.get(model)
        if price is not None:
            usd = (prompt_tokens * price.prompt_per_million
                   + completion_tokens * price.completion_per_million) / 1e6
            self.cost += usd
            _metrics.COST.labels(self.agent, model).inc(usd)
        self._publish()

    def error(self, model: str, kind: str) -> None:
        _metrics.ERRORS.labels(self.agent, model, kind).inc()
        _metrics.LLM_REQUESTS.labels(self.agent, model, kind).inc()
