# Two commands for a fresh machine: `make run` (dashboard on the offline demo)
# and `make test` (the whole suite). Both set everything up on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE ?= 1

.PHONY: run serve-class test system lint bench model clean-venv

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements-dev.txt
	$(PY) -m pip install --no-deps -e .
	touch $@

# The bundled model's towers for ONNX Runtime (~10 s, once; rebuilt when the weights change).
ONNX := data/models/emoji-clip/onnx/manifest.json
$(ONNX): $(VENV)/.installed data/models/emoji-clip/model.safetensors similarity/encoders/onnx_export.py
	$(PY) -m similarity.encoders.onnx_export

# The clipart demo: Debian's openclipart-svg drawings rendered, embedded and mapped once (~5 min on 2 cores).
CLIPART := data/clipart/views.npz
$(CLIPART): $(ONNX) similarity/ingest/clipart.py
	if [ -d /usr/share/openclipart/svg ]; then \
	  $(PY) -m similarity.ingest.clipart && $(PY) -m similarity.ingest.bundled clipart && \
	  $(PY) -m similarity.views.shipped clipart; \
	else echo "No clipart demo: install the Debian package openclipart-svg (make system) to get it."; fi

# The "Watch it learn" page's input: the emoji demo through model 3.0's frozen backbone (~20 s, once).
LAB := data/demo/features.npz
$(LAB): $(ONNX) similarity/lab/data.py
	$(PY) -m similarity.lab.data

run: $(VENV)/.installed $(ONNX) $(CLIPART) $(LAB)
	$(PY) -m ui.serve

# A class on one machine: N app processes behind HAProxy on port 8501
# (BIND=0.0.0.0 to let the classroom network in). Ctrl+C stops them all.
PROCESSES ?= 2
BIND ?= 127.0.0.1
serve-class: system $(VENV)/.installed $(ONNX) $(CLIPART) $(LAB)
	$(PY) -m ui.serve_class --processes $(PROCESSES) --bind $(BIND) --port 8501

# Debian packages for the emoji data, the clipart demo, the SVG renderer and the browser test.
system:
	bash scripts/system-deps.sh

# Ray is an optional extra (the --runner ray indexer): installed for its tests.
$(VENV)/.ray: $(VENV)/.installed requirements-ray.txt
	$(PY) -m pip install -r requirements-ray.txt
	touch $@

test: system $(VENV)/.installed $(VENV)/.ray $(ONNX) $(CLIPART) $(LAB)
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(PY) -m ruff check .

bench: $(VENV)/.installed
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

# Retrain the bundled model, rewrite its card, the demos' vectors and its ONNX towers
# (about 15 minutes on 2 cores; renders and backbone features are cached; see training/rebuild.py).
model: system $(VENV)/.installed
	$(PY) -m training.rebuild
