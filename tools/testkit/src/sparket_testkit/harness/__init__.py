"""Helpers several tests share, imported by module path (never by bare name)."""
