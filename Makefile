# govcrawl: one command each for set-up + crawl, tests, the offline demo and the benchmarks.
# Everything installs from nothing: Debian packages (chromium, redis-server) when missing,
# then a virtualenv in .venv/ with the project and its test tools.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_PACKAGES := chromium redis-server fonts-wqy-zenhei fonts-noto-cjk libreoffice-writer-nogui
ARGS ?=

.PHONY: setup system-deps crawl test demo bench clean-state help

help:
	@echo "make crawl   - set up everything, then crawl the bundled portal list (output/*.jsonl)"
	@echo "make test    - set up everything, then run the test suite"
	@echo "make demo    - set up everything, then crawl a bundled demo portal on 127.0.0.1 (offline)"
	@echo "make bench   - extraction and crawl benchmarks (print numbers)"
	@echo "make clean-state - forget the incremental crawl state (next crawl is a full one)"

# Byte-code for the project's own modules, written here because environments that set
# PYTHONDONTWRITEBYTECODE (many container images, this CI) never write it at import: without it every
# crawl, and the extraction workers' fork server, would compile govcrawl from source at start
# (~0.1 s each). Only changed modules are compiled again; a stale .pyc is ignored, never wrong.
setup: system-deps $(STAMP)
	@$(PY) -m compileall -q govcrawl >/dev/null

# Debian's chromium renders JS-only lists (Playwright cannot download its own browser here);
# redis-server backs the distributed mode and its tests; the two CJK fonts draw the test PDFs
# (tests/pdf_reports.py: TrueType outlines for reportlab, CFF outlines as fpdf2 embeds them), and
# fonts-wqy-zenhei lets headless Chromium draw the Chinese of the export's HTML report and its screenshot;
# a CJK font also draws the table pictures the OCR tests and benchmark read (govcrawl/demo/images.py);
# OpenCV (from the OCR wheel) needs libGL and libglib at import; LibreOffice (soffice, tests only) writes
# the legacy Word 97 .doc files the tests read (govcrawl/demo/word97.py): real files from an independent writer.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || missing="$$missing fonts-wqy-zenhei"; \
	[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || missing="$$missing fonts-noto-cjk"; \
	ldconfig -p | grep -q 'libGL.so.1 ' || missing="$$missing libgl1"; \
	ldconfig -p | grep -q 'libglib-2.0.so.0 ' || missing="$$missing libglib2.0-0"; \
	command -v soffice >/dev/null 2>&1 || missing="$$missing libreoffice-writer-nogui"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

crawl: setup
	$(PY) -m scrapy crawl portals $(ARGS)

test: setup
	$(PY) -m pytest $(ARGS)

demo: setup
	$(PY) -m govcrawl.demo $(ARGS)

bench: setup
	$(PY) bench/discovery_bench.py
	$(PY) bench/extract_bench.py
	$(PY) bench/crawl_bench.py
	$(PY) bench/recrawl_bench.py
	$(PY) bench/export_bench.py
	$(PY) bench/archive_bench.py
	$(PY) bench/ocr_bench.py

clean-state:
	rm -f output/crawl-state.sqlite3 output/crawl-state.sqlite3-wal output/crawl-state.sqlite3-shm
