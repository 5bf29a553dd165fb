"""`python -m services.indexer`: the indexer agent, its search endpoint and forget follower."""

from __future__ import annotations

import logging

from agentstream.runtime import run_agent
from services.indexer.agent import agent, close, state


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    state()  # open the index and serve search before consuming
    try:
        run_agent(agent)
    finally:
        close()


if __name__ == "__main__":
    main()
