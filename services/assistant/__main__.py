"""``python -m services.assistant``: the Slack assistant as its own process."""

from __future__ import annotations

import logging

from agentstream.runtime import run_agent
from services.assistant.agent import agent


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    run_agent(agent)


if __name__ == "__main__":
    main()
