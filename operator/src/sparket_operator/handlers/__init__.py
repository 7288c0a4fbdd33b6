"""kopf wiring only: events in, calls into reconcile and kube, status out."""
