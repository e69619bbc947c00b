# distr: the two set-up commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run test lint install install-dev migrate bench bench-s3 bench-analytics bench-api bench-kits bench-gc bench-checkin bench-push clean worker beat

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when pyproject.toml changes.
.stamp-install: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

.stamp-install-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ .stamp-install

install: .stamp-install
install-dev: .stamp-install-dev

migrate: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0

run: migrate
	@token=$$($(BIN)/python manage.py seeddemo) && \
	echo "" && \
	echo "distr registry on http://127.0.0.1:$(PORT)  (data in $${DATA_DIR:-./data})" && \
	echo "  demo vendor 'acme', push token (shown once, replaced on every start):" && \
	echo "    $$token" && \
	echo "  push: skopeo copy --dest-tls-verify=false --dest-creds ci:$$token \\" && \
	echo "          docker-archive:./image.tar docker://127.0.0.1:$(PORT)/acme/app:1.0" && \
	echo "  pull: skopeo copy --src-tls-verify=false --src-creds ci:$$token \\" && \
	echo "          docker://127.0.0.1:$(PORT)/acme/app:1.0 oci:./app:1.0" && \
	echo "  login: docker login 127.0.0.1:$(PORT) -u ci -p $$token" && \
	echo "  portal: http://127.0.0.1:$(PORT)/p/acme/ (admin password printed above)" && \
	echo ""
	$(BIN)/gunicorn -c deploy/gunicorn.conf.py distr.wsgi

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest

bench: install-dev
	$(BIN)/python bench/run.py

# Blob pulls on S3 (moto): presigned redirect versus streaming through distr.
bench-s3: install-dev
	$(BIN)/python bench/s3.py

# Celery (needs REDIS_URL): the worker ingests pull events; exactly one beat schedules it.
worker: migrate
	$(BIN)/celery -A distr worker --pool=solo -l INFO --without-mingle --without-gossip

beat: install
	$(BIN)/celery -A distr beat -l INFO --schedule $${DATA_DIR:-./data}/celerybeat-schedule

# Pull analytics: capture overhead, ingestion throughput, dashboard queries (PostgreSQL).
bench-analytics: install-dev
	$(BIN)/python bench/analytics.py

bench-api: install-dev
	$(BIN)/python bench/api.py

bench-kits: install-dev
	$(BIN)/python bench/kits.py

# License check-in against the manifest GET of the same run.
bench-checkin: install-dev
	$(BIN)/python bench/checkin.py
# Garbage collection: distr's online GC against `docker-registry garbage-collect`.
bench-gc: install-dev
	$(BIN)/python bench/gc.py

# Pushes at 50 concurrent clients into one repository against spread over many, and 500
# clients pulling one image: SQLite, PostgreSQL (BENCH_POSTGRES_URL) and Distribution.
bench-push: install-dev
	$(BIN)/python bench/push_concurrency.py

clean:
	rm -rf $(VENV) .stamp-install .stamp-install-dev staticfiles
