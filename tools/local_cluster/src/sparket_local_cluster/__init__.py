"""The local Kubernetes control plane on loopback and the demo that runs a fleet on it."""
