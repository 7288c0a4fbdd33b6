"""The only layer that talks to the API server: server-side apply, observe, error mapping."""
