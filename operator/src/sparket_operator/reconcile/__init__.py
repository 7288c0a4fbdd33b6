"""Pure functions: desired Kubernetes objects from a spec, status from observed objects.

No I/O here, and neither kopf nor a Kubernetes client may be imported (import-linter).
"""
