"""Fleet budgets: every runtime on one egress IP asks here before it sends a validator
anything, so co-located hotkeys never trip that validator's cooldowns or bans.

`coordinator.BudgetCoordinator` is the contract; `memory_backend` serves one process,
`redis_backend` a fleet (atomic Lua scripts in `lua/`). Both schedule sends evenly
(GCRA) rather than merely capping a window (see `model`).
"""
