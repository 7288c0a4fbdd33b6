"""The Sparket wire protocol: the one synapse and the typed payloads it carries."""
