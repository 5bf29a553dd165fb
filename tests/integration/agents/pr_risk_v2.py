"""A candidate version of pr-risk with one rule changed: a pull request is large from 200
changed lines (production: ``large_pr_lines``, 400 by default). Everything else is the service's
own code, loaded as a second module so that production's module keeps its settings."""

from __future__ import annotations

import importlib.util
import sys

import services.pr_risk.agent as production

LARGE_PR_LINES = 200

_spec = importlib.util.spec_from_file_location("pr_risk_v2_impl", production.__file__)
assert _spec is not None and _spec.loader is not None
_module = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _module
_spec.loader.exec_module(_module)
_module.settings = _module.settings.model_copy(update={"large_pr_lines": LARGE_PR_LINES})
_module.agent.version = "0.2.0-large-200"

agent = _module.agent
