"""Typed SparketMiner spec and status models; the CRD schema is generated from them."""
