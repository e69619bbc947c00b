"""The registry's own Prometheus counters (exposed with the rest by ops/metrics.py)."""

from prometheus_client import Counter

BYTES_UPLOADED = Counter(
    "distr_registry_uploaded_bytes", "Request body bytes received on registry push routes"
)
BYTES_SERVED = Counter(
    "distr_registry_served_bytes",
    "Blob bytes answered: streamed by this process (file, stream) or by object storage "
    "behind a presigned redirect (redirect)",
    ["mode"],
)
PULLS = Counter("distr_registry_pulls", "Successful manifest GETs")
