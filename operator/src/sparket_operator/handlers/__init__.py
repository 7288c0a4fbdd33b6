"""kopf wiring only: watch events in, into the controller's queue; start and stop it.

Nothing here decides anything. Handlers are `on.event` handlers, which kopf runs without
finalizers, progress annotations or status writes of its own, so the operator's only
writes are the ones the reconciler makes (and deleting a SparketMiner never waits for
the operator: owner references let the garbage collector clean up).
"""
