"""``create_app`` (the Starlette application) and ``serve`` (uvicorn on the configured address)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agentstream.config import KafkaSettings, load
from agentstream.console._access import TokenAuth
from agentstream.console._ops_pages import (
    agent_page,
    console_state,
    overview,
    replay,
    tail_page,
    tail_stream,
    topics_page,
)
from agentstream.console._settings import ConsoleSettings
from agentstream.console._state import ConsoleState
from agentstream.console._team_pages import event_page, team_page, teams_page

__all__ = ["create_app", "serve"]


async def _healthz(request: Request) -> Response:
    return JSONResponse({"ok": True, **console_state(request).health()})


async def _api_topology(request: Request) -> Response:
    views = await console_state(request).topology()
    return JSONResponse([v.as_dict() for v in views])


def create_app(
    settings: ConsoleSettings | None = None, *, kafka: KafkaSettings | None = None
) -> Starlette:
    """The console as an ASGI app; refuses (``ConsoleAccessError``) an unsafe binding.

    When a token is configured — mandatory beyond loopback — every route requires it.
    """
    settings = settings or load(ConsoleSettings)
    kafka = kafka or load(KafkaSettings)
    settings.require_safe_binding()
    state = ConsoleState(settings, kafka)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        state.start()
        try:
            yield
        finally:
            state.stop()

    middleware = []
    if settings.auth_required:
        assert settings.token is not None  # require_safe_binding guarantees it
        middleware.append(Middleware(TokenAuth, token=settings.token.get_secret_value()))
    app = Starlette(
        routes=[
            Route("/", overview),
            Route("/agents/{name}", agent_page),
            Route("/agents/{name}/dlq/replay", replay, methods=["POST"]),
            Route("/topics", topics_page),
            Route("/topics/{topic}/tail", tail_page),
            Route("/topics/{topic}/stream", tail_stream),
            Route("/teams", teams_page),
            Route("/teams/{team}", team_page),
            Route("/events/{event_id}", event_page),
            Route("/api/topology", _api_topology),
            Route("/healthz", _healthz),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.console = state
    return app


def serve(settings: ConsoleSettings | None = None, *, kafka: KafkaSettings | None = None) -> None:
    """Run the console until interrupted (uvicorn, one process)."""
    settings = settings or load(ConsoleSettings)
    app = create_app(settings, kafka=kafka)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info",
                access_log=False, server_header=False)
