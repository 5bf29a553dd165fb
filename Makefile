# AgentStream — set-up and entry points. `make test` and `make demo` do all set-up themselves:
# a virtualenv in .venv, the package with its dev extras, Kafka's jars from Maven Central.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# Test processes for `make test` (pytest-xdist, one file per process at a time, each with its own
# broker); TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= 2
# The published contract that schemas/ must stay compatible with (CI: the previous commit of main).
SCHEMAS_REF ?= HEAD~1

.PHONY: help venv kafka-jars schemas-check test test-slow test-unit demo lint typecheck bench up down status clean

help:
	@echo "make test       unit + integration tests against a real local Kafka broker"
	@echo "make test-slow  chaos / soak tests (SIGKILL, rebalances, long runs)"
	@echo "make demo       the reference product end to end (DEMO_ARGS=--follow keeps it running)"
	@echo "make schemas-check  schemas/ against the previous commit (SCHEMAS_REF=ref)"
	@echo "make lint       ruff + mypy"
	@echo "make bench      benchmarks (figures printed and written to benchmarks/RESULTS.md)"
	@echo "make up|down|status   the development broker (agentstream dev ...)"
	@echo "make test-e2e   the console in headless Chromium (installs Debian's chromium if missing)"
	@echo "make chart-check  helm lint + template + kubeconform (tools built into ~/.cache/agentstream/tools)"
	@echo "make rules-check  promtool: alert rules, their unit tests, the Prometheus config"
	@echo "make compose-check  docker-compose.yml loaded by compose-go (what docker compose config does)"
	@echo "make deploy-check   compose-check + chart-check + rules-check"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

kafka-jars: venv
	$(BIN)/agentstream dev fetch

test: venv kafka-jars
	$(BIN)/python -m pytest -m "not slow and not e2e" -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

schemas-check: venv
	$(BIN)/agentstream schemas check --against $(SCHEMAS_REF)

test-unit: venv
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

test-slow: venv kafka-jars
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# The demo starts the local broker itself when none answers (and stops it again at the end);
# DEMO_ARGS=--follow keeps every service running until Ctrl-C.
DEMO_ARGS ?=
demo: venv kafka-jars
	$(BIN)/python -m services.demo.run $(DEMO_ARGS)

lint: venv
	$(BIN)/ruff check src tests services benchmarks
	$(BIN)/mypy
	cd examples/deploy-watcher && $(abspath $(BIN))/ruff check . && $(abspath $(BIN))/mypy

bench: venv kafka-jars
	$(BIN)/python benchmarks/run_all.py

up: venv kafka-jars
	$(BIN)/agentstream dev up
down: venv
	$(BIN)/agentstream dev down
status: venv
	$(BIN)/agentstream dev status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# -- operations: browser tests, chart and alert-rule checks ----------------------------------------
# Go tools are built from the Go module proxy into $(TOOLS) on first use (outside the checkout,
# so a fresh clone reuses them; rendered manifests go there too).
TOOLS               ?= $(HOME)/.cache/agentstream/tools
HELM_VERSION        ?= v3.22.0
KUBECONFORM_VERSION ?= v0.8.0
PROMTOOL_VERSION    ?= v0.316.0
K8S_VERSION         ?= 1.35.0
KUBERNETES_VALIDATE ?= kubernetes-validate==1.37.0
CHART               := helm/agentstream
RENDERED            := $(TOOLS)/rendered

.PHONY: test-e2e chromium chart-check rules-check compose-check deploy-check

chromium:
	@test -x /usr/bin/chromium || (apt-get update -q && apt-get install -y -q chromium)

test-e2e: venv kafka-jars chromium
	$(BIN)/python -m pytest tests/e2e -m e2e $(PYTEST_ARGS)

$(TOOLS)/helm:
	GOBIN=$(abspath $(TOOLS)) go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
$(TOOLS)/kubeconform:
	GOBIN=$(abspath $(TOOLS)) go install github.com/yannh/kubeconform/cmd/kubeconform@$(KUBECONFORM_VERSION)
$(TOOLS)/promtool:
	GOBIN=$(abspath $(TOOLS)) go install github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION)

# kubeconform's schemas come from the kubernetes-validate package (GitHub is not reachable):
# helm/tools/k8s_schemas.py inlines them into the standalone layout kubeconform reads.
chart-check: venv $(TOOLS)/helm $(TOOLS)/kubeconform
	@$(BIN)/python -c "import kubernetes_validate" 2>/dev/null || $(BIN)/pip install -q '$(KUBERNETES_VALIDATE)'
	@mkdir -p $(RENDERED)
	$(TOOLS)/helm lint $(CHART) --strict
	$(TOOLS)/helm lint $(CHART) --strict -f $(CHART)/ci/full-values.yaml
	$(TOOLS)/helm template agentstream $(CHART) > $(RENDERED)/default.yaml
	$(TOOLS)/helm template agentstream $(CHART) -f $(CHART)/ci/full-values.yaml > $(RENDERED)/full.yaml
	$(BIN)/python helm/tools/k8s_schemas.py --version $(K8S_VERSION) --out $(TOOLS)/k8s-schemas $(RENDERED)/*.yaml
	$(TOOLS)/kubeconform -strict -summary -kubernetes-version $(K8S_VERSION) -skip ServiceMonitor \
	  -schema-location '$(TOOLS)/k8s-schemas/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json' \
	  $(RENDERED)/default.yaml $(RENDERED)/full.yaml

rules-check: $(TOOLS)/promtool
	$(TOOLS)/promtool check rules deploy/prometheus/alerts.yml
	$(TOOLS)/promtool test rules deploy/prometheus/alerts_test.yml
	$(TOOLS)/promtool check config deploy/prometheus/prometheus.yml

# docker-compose.yml through compose-go, the loader of `docker compose` (schema, interpolation,
# references); deploy/compose-check is a ten-line Go program on it. The console token is required
# by the file, so a placeholder is given here.
$(TOOLS)/compose-check: deploy/compose-check/main.go deploy/compose-check/go.mod
	cd deploy/compose-check && go build -o $(abspath $(TOOLS))/compose-check .

compose-check: $(TOOLS)/compose-check
	AGENTSTREAM_CONSOLE_TOKEN=placeholder $(TOOLS)/compose-check -f docker-compose.yml > $(TOOLS)/compose-resolved.yml
	@echo "docker-compose.yml: valid ($(TOOLS)/compose-resolved.yml)"

deploy-check: compose-check chart-check rules-check
