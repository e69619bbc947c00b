"""gunicorn settings for distr (used by `make run` and deploy/).

Threaded workers keep connections alive and let one slow blob upload not block other
requests; blob downloads go out through sendfile, so a worker's memory stays flat.
"""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() + 1, 4)))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
keepalive = 75
# Long uploads (1 GiB at client speed) must not be cut off by the worker timeout.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "600"))
graceful_timeout = 30
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
# The control socket has one default path per user: two instances on one host would
# fight over it, and distr does not use it.
control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
