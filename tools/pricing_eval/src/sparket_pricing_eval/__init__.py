"""The pricing evaluation: a simulated league with known true probabilities, four predictors
(the built-in engine, the oracle, the reference miner's formula, a home-advantage baseline)
scored the way a validator scores them. `python -m sparket_pricing_eval --out DIR`.
"""
