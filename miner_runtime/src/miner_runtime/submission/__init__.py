"""The miner's work: game sync, odds cycles and outcome pushes, paced and backed off."""
