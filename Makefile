# Every target CI runs is here; CI calls `make test` verbatim (see .ci/run).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
export UV_PYTHON_DOWNLOADS := never
UV := python3 -m uv
RUN := $(UV) run --locked --all-packages
SRC := operator/src miner_runtime/src tools/local_services/src tools/local_validator/src tools/local_cluster/src tools/pricing_eval/src tools/testkit/src
PYTEST_ARGS ?=

##@ Help
help: ## Show the targets
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2} /^##@/ {printf "\n%s\n", substr($$0, 5)}' $(MAKEFILE_LIST)

##@ Main commands
demo: setup ## Fresh machine -> the local demo (set-up included; needs root): a fleet on a local cluster
	bash tools/demo.sh

test: setup check pytest ## Fresh machine -> the whole test suite (set-up included); CI runs this

##@ Set-up
setup: ## Install uv, Python deps, Redis/PostgreSQL and the Go-built control plane (skips what is done)
	bash tools/setup.sh

binaries: ## Build (or find cached) etcd, kube-apiserver, kcm, scheduler, KWOK, Helm, and the real node's parts
	bash tools/build-binaries.sh --all

##@ Checks
check: lint type imports ## All static checks

lint: ## ruff lint and format check
	$(RUN) ruff check .
	$(RUN) ruff format --check .

fmt: ## Apply ruff fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

type: ## mypy --strict on the src trees
	$(RUN) mypy $(SRC)

imports: ## import-linter layer contracts for the operator
	$(RUN) lint-imports

pytest: ## Run pytest (PYTEST_ARGS=... to narrow)
	PATH="$$(bash tools/build-binaries.sh --print-dir):$$PATH" $(RUN) pytest $(PYTEST_ARGS)

##@ Generate
crds: ## Regenerate crds/ (and the chart's copy and the install bundle) from the operator's typed models (tests fail on drift)
	$(RUN) python -m sparket_operator.api.crdgen
	cp crds/sparketminers.sparket.io.yaml charts/sparket-operator/files/crds/sparketminers.sparket.io.yaml
	bash tools/render-bundle.sh

bundle: ## Render manifests/install.yaml from charts/sparket-operator with default values (a test fails on drift)
	bash tools/render-bundle.sh

openapi: ## Regenerate the model sidecar's OpenAPI document (a test fails on drift)
	$(RUN) python -m miner_runtime.pricing.model_api docs/model-api.openapi.json

status-schema: ## Regenerate the runtime's /status JSON Schema, the operator's contract (a test fails on drift)
	$(RUN) python -m miner_runtime.observability.status_schema docs/runtime-status.schema.json

##@ Pricing
evaluate: setup ## The pricing evaluation report (simulated leagues) into docs/pricing-evaluation/
	$(RUN) python -m sparket_pricing_eval --out docs/pricing-evaluation

bench-pricing: setup ## Pricing 10,000 markets in one cycle: CPU time and peak memory
	$(RUN) python tools/bench/pricing_bench.py --markets 10000

##@ Install paths
images: ## Build both images without Docker (root; podman + a Debian base; prints sizes)
	bash tools/images/build-local.sh

kind: ## For Docker users (not run by CI): kind cluster, images, helm install, samples
	bash tools/kind-demo.sh

##@ Local cluster
cluster-up: setup ## Start the local control plane; prints the KUBECONFIG to export
	$(RUN) sparket-local-cluster cluster up

cluster-down: ## Stop the local control plane started by cluster-up
	$(RUN) sparket-local-cluster cluster down

.PHONY: help demo test setup binaries check lint fmt type imports pytest crds bundle images kind openapi status-schema evaluate bench-pricing cluster-up cluster-down
