"""The control loop: a work queue of miner keys, the reconcile that drives one miner to
its desired state through `kube`, and the poller that collects each runtime's report.

Level-triggered, in the manner of controller-runtime: events only say "look at this
miner again"; each reconcile reads the current state and converges from it, so a lost
event, a crash or a restart cannot leave anything half-done for long.
"""
