"""The only layer that talks to the API server (`api.KubeApi`, served by `client` for real
and by `memory` for tests): server-side apply, observe, error mapping."""
