"""The chain as the runtime sees it: who is registered, who may validate, where we serve.

bittensor's calls are synchronous; `ChainSync` runs them through `asyncio.to_thread`, keeps
the latest `ChainSnapshot`, and publishes our axon with `serve_axon` only when the on-chain
endpoint differs from the advertised one (the chain rate-limits serving).
"""
