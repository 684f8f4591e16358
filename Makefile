# Operational entry points. Everything runs from the repository root.
SHELL := /bin/bash
PYTHON_VENV := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: run stop status test bench lint venv rabbitmq mongo tools browser

## run: start RabbitMQ, the local store and the four services; load the demo data
run:
	scripts/run.sh

## stop: stop the services and the local store started by `make run`
stop:
	scripts/stop.sh

## status: each service process as supervisord sees it (RUNNING, BACKOFF, FATAL), and the store
status:
	scripts/status.sh

## test: the whole test suite (the tests start their own store and RabbitMQ vhost)
test: venv rabbitmq tools browser lint
	$(PYTHON_VENV) -m pytest -q -ra $(PYTEST_ARGS)

## bench: the benchmarks (bench/)
bench: venv rabbitmq
	$(PYTHON_VENV) -m bench.write_path
	$(PYTHON_VENV) -m bench.growth
	$(PYTHON_VENV) -m bench.imports
	$(PYTHON_VENV) -m bench
	$(PYTHON_VENV) -m bench.gateway

## lint: ruff and mypy (make test runs it first)
lint: venv
	$(PYTHON_VENV) -m ruff check .
	$(PYTHON_VENV) -m mypy shared services/customer/customer services/invoice/invoice \
		services/approval/approval services/search/search services/gateway/gateway

venv:
	scripts/venv.sh

rabbitmq:
	scripts/rabbitmq.sh

tools:
	scripts/tools.sh

browser:
	scripts/browser.sh

mongo:
	scripts/mongo.sh start
