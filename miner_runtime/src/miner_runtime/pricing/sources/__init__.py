"""External data the built-in engine prices from: ESPN final scores, The Odds API prices."""
