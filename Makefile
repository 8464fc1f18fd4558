# modemu — two commands do all the set-up on a fresh machine:
#   make run    create .venv if missing, install, start `modemu serve` (flags: make run ARGS="--module bg96")
#   make test   same set-up, then the whole suite
#   make soak   the reliability suite's long floods and fuzzers (MODEMU_SOAK=1)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test soak bench system-deps install clean coverage-doc

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Debian packages: mosquitto (real-peer MQTT tests), libcoap3-bin (DTLS-PSK peers: openssl and
# gnutls builds), chromium + chromium-driver (the web console test). Installed when we are root and they are missing. DTLS itself is python-mbedtls
# (a wheel, no compiler).
system-deps:
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  missing=""; \
	  for p in mosquitto mosquitto-clients libcoap3-bin chromium chromium-driver; do \
	    dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	      || echo "warning: could not install$$missing; the tests that need them will skip"; \
	  fi; \
	else echo "not root: skipping Debian packages (tests that need them skip with a reason)"; fi

$(STAMP): pyproject.toml | $(BIN)/python
	$(MAKE) --no-print-directory system-deps
	$(BIN)/pip install -q -e '.[test]'
	@# hologram-python (a real host driver, tests/drivers/test_hologram_peer.py) pins psutil~=5.8,
	@# which amqtt (>=7) excludes, so it cannot sit in the test extra: install it without its pins
	@# plus the one import-time dependency psutil/pyserial do not cover (pyroute2).
	@$(BIN)/pip install -q --no-deps 'hologram-python==0.10.3' 'pyroute2>=0.5,<0.6' \
	  || echo "warning: hologram-python not installed; its peer test will skip"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/modemu serve $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q

# the reliability suite's long versions: bigger floods, longer fuzzing, more clients (minutes)
soak: $(STAMP)
	MODEMU_SOAK=1 $(BIN)/python -m pytest -q -p no:randomly tests/reliability

bench: $(STAMP)
	$(BIN)/python -m bench

coverage-doc: $(STAMP)
	$(BIN)/python -m emulator.modules.coverage > emulator/modules/COVERAGE.md

clean:
	rm -rf $(VENV) build dist *.egg-info
