"""The SparketMiner operator (kopf).

Layers, imported one way only and enforced by import-linter (see pyproject.toml):
`api` (typed spec/status models) -> `reconcile` (pure: desired objects and status from a
spec and observations) -> `kube` (the only code that talks to the API server) ->
`handlers` (kopf wiring only).
"""
