"""``python -m services.gateway``: the ingestion gateway as a process (same as
``agentstream gateway``); settings from ``AGENTSTREAM_GATEWAY_*`` and ``AGENTSTREAM_*``."""

from __future__ import annotations

import logging
import sys

from agentstream.config import KafkaSettings, check_environment
from agentstream.connectors import GatewaySettings, run_gateway


def main() -> int:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    check_environment()
    run_gateway(GatewaySettings(), KafkaSettings())
    return 0


if __name__ == "__main__":
    sys.exit(main())
