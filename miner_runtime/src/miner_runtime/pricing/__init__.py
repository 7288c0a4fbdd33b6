"""Pricing: markets in, prices out, behind the `PricingEngine` interface."""
