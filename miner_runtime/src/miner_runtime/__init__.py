"""The Sparket miner runtime: one hotkey's whole life (axon, validator client, sync,
pricing, submission, storage, fleet budgets), wire-compatible with the real subnet."""
