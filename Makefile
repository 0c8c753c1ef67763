# dlkit — one Makefile; CI calls these targets too.  `make help` lists them.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
# GPU=1 installs tensorflow[and-cuda] instead of tensorflow-cpu (auto when nvidia-smi works).
GPU    ?= $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1 || echo 0)
EXTRAS := $(if $(filter 1,$(GPU)),gpu,cpu),dev
comma  := ,
STAMP  := $(VENV)/.dlkit-installed-$(subst $(comma),-,$(EXTRAS))
PYTEST_ARGS ?=


.PHONY: help setup system-packages test test-slow demo serve release grade gpu-check reports lint clean distclean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: $(STAMP)  ## venv + package + system packages + datasets + compile cache (idempotent)
	@$(MAKE) --no-print-directory system-packages
	$(BIN)/dlkit data fetch
	$(BIN)/dlkit warm  # PyTensor's compile cache, so graded runs do not compile

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -e '.[$(EXTRAS)]'
	# triton + tensorflow in one process crash (SIGSEGV) on `import tensorflow; import torchvision`
	$(BIN)/python -m pip uninstall -y -q triton || true
	rm -f $(VENV)/.dlkit-installed-*
	touch $@

# bubblewrap: the grading sandbox; fonts-lohit-deva: Devanagari names in the PDFs;
# poppler-utils: pdftoppm, to look at a PDF page as an image; chromium: the browser the
# portal's end-to-end tests drive with Playwright (never `playwright install`).
SYSTEM_PACKAGES := bubblewrap fonts-lohit-deva poppler-utils libharfbuzz-subset0 chromium
system-packages:  ## Debian packages the sandbox and the PDFs need (only as root, only if missing)
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing $$missing"; \
		apt-get install -y -q $$missing >/dev/null 2>&1 || \
		(apt-get update -q >/dev/null && apt-get install -y -q $$missing >/dev/null) || \
		echo "warning: could not install $$missing"; \
	else \
		echo "note: missing Debian packages: $$missing (the sandbox needs bubblewrap; Devanagari PDFs need fonts-lohit-deva)"; \
	fi

test: setup  ## the fast test suite (what CI runs)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

test-slow: setup  ## full training runs only
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

DEMO   := demo/course
DUE    := $(shell date -d tomorrow '+%Y-%m-%d 17:00' 2>/dev/null || echo '2030-01-01 17:00')
demo: setup  ## the kit end to end: collect, grade, feedback, export the sample submissions
	@echo "== 1. the data registry (cache -> upstream -> offline wheel, checksums verified)"
	$(BIN)/dlkit data status --no-probe
	@for exp in exp2-feedforward exp4-autoencoder-anomaly; do \
		echo "== 2. collect $$exp: a complete, a partial, a broken and a cheating submission"; \
		$(BIN)/dlkit collect $$exp demo/submissions/$$exp --roster demo/roster.csv \
			--due "$(DUE)" --course $(DEMO) || exit 1; \
		echo "== 3. grade $$exp in the sandbox (already graded ones are kept)"; \
		$(BIN)/dlkit grade $$exp --course $(DEMO) || exit 1; \
		echo "== 4. feedback pages for $$exp"; \
		$(BIN)/dlkit feedback $$exp --course $(DEMO) || exit 1; \
	done
	@echo "== 4b. a free-form Experiment 2 (Colab's drive.mount, keras.datasets, no seed, a late error)"
	$(BIN)/dlkit collect exp2-feedforward demo/submissions/free-form/exp2-feedforward \
		--roster demo/roster.csv --due "$(DUE)" --course $(DEMO)
	$(BIN)/dlkit grade exp2-feedforward --course $(DEMO)
	$(BIN)/dlkit feedback exp2-feedforward --student 41006 --course $(DEMO)
	@echo "   its page tells the true error: $(DEMO)/feedback/exp2-feedforward/41006.html"
	@echo "== 5. marks for the LMS"
	$(BIN)/dlkit export --format csv --course $(DEMO)
	@echo "== 6. the gradebook ($(DEMO)/gradebook.db)"
	$(BIN)/dlkit gradebook --course $(DEMO)
	@echo "== 7. the examiner's papers of one student: term-work report and viva set"
	$(BIN)/dlkit report term-work --student 41001 --course $(DEMO)
	$(BIN)/dlkit viva --batch B1 --student 41001 --date $$(date '+%Y-%m-%d') --course $(DEMO)

release: setup  ## build release/, autograder/ and solutions/ from source/ (with the 3 checks)
	$(BIN)/dlkit release

grade: setup  ## grade collected submissions: make grade EXP=exp2-feedforward COURSE=path
	$(BIN)/dlkit grade $(EXP) --course $(or $(COURSE),.)

# Installs nothing: on a GPU machine run `make setup GPU=1` first. Without a GPU it says so, exits 3.
gpu-check:  ## grade a batch of each experiment on the GPU(s), then on CPUs: notebooks/min, GPU memory
	@test -x $(BIN)/python || { echo "no $(VENV): run 'make setup GPU=1' first"; exit 1; }
	$(BIN)/python benchmarks/gpu.py $(GPU_CHECK_ARGS)

PORT   ?= 8000
DEMO_PASSWORD ?= demo-instructor
serve: setup  ## the course portal on the demo course (built by make demo) at http://127.0.0.1:PORT
	@test -f $(DEMO)/gradebook.db || $(MAKE) --no-print-directory demo
	@test -f $(DEMO)/portal/instructor.argon2 || printf '%s\n' "$(DEMO_PASSWORD)" | \
		$(BIN)/dlkit serve --course $(DEMO) --set-password --password-stdin
	@echo "== instructors: http://127.0.0.1:$(PORT)/instructor/login, password $(DEMO_PASSWORD)"
	$(BIN)/dlkit roster codes --batch B1 --course $(DEMO) --url http://127.0.0.1:$(PORT) --no-pdf
	@echo "== students: roll number + the code in $(DEMO)/reports/access-codes/*.csv"
	$(BIN)/dlkit serve --course $(DEMO) --port $(PORT)

BATCH  ?= B1
TODAY  := $(shell date '+%Y-%m-%d')
reports: setup  ## examiner's papers for COURSE (default demo/course) and BATCH (default B1)
	$(BIN)/dlkit report term-work --course $(or $(COURSE),$(DEMO))
	$(BIN)/dlkit viva --batch $(BATCH) --date $(TODAY) --course $(or $(COURSE),$(DEMO))
	$(BIN)/dlkit exam plan --batch $(BATCH) --date $(TODAY) --course $(or $(COURSE),$(DEMO))
	$(BIN)/dlkit exam sheet --batch $(BATCH) --course $(or $(COURSE),$(DEMO))

lint: setup  ## ruff over the package, tests and benchmarks
	$(BIN)/ruff check dlkit tests benchmarks demo

clean:  ## remove caches and build leftovers (keeps .venv and the data cache)
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache $(DEMO)
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +

distclean: clean  ## also remove the virtual environment
	rm -rf $(VENV)
