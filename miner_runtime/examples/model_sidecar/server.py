"""A minimal pricing model sidecar: the smallest thing that meets the model API.

Standard library only, so it is easy to read and to copy. It listens on 127.0.0.1 (the
miner runtime calls it from the same pod) on $SPARKET_MODEL_PORT (default 8080) and
answers the contract in `docs/model-api.openapi.json`:

    GET  /v1/health  -> {"status": "ok", "model": "example", "version": "1"}
    POST /v1/price   -> {"quotes": [{"market_id", "kind", "prices": [{"side", "odds_eu"}]}]}

Its "model" is deliberately naive (a fixed home edge, even spreads and totals); replace
`probabilities` with yours. The runtime drops any quote whose odds fall outside
[1.01, 1000] or whose sides do not fit the market, so send fair decimal odds (1 / p).
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOME_EDGE = 0.06
SOCCER_DRAW = 0.26


def probabilities(market: dict[str, Any]) -> dict[str, float]:
    """Fair probabilities per side for one market of the request."""
    kind = market["kind"]
    if kind == "TOTAL":
        return {"over": 0.5, "under": 0.5}
    if kind == "SPREAD":
        return {"home": 0.5, "away": 0.5}
    if market["sport"] == "soccer":
        home = (1 - SOCCER_DRAW) * (0.5 + HOME_EDGE)
        return {"home": home, "draw": SOCCER_DRAW, "away": 1 - SOCCER_DRAW - home}
    return {"home": 0.5 + HOME_EDGE, "away": 0.5 - HOME_EDGE}


def quote(market: dict[str, Any]) -> dict[str, Any]:
    return {
        "market_id": market["market_id"],
        "kind": market["kind"],
        "prices": [
            {"side": side, "odds_eu": round(1 / p, 2)} for side, p in probabilities(market).items()
        ],
    }


class Handler(BaseHTTPRequestHandler):
    server_version = "example-model/1"

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/v1/health":
            self._reply(200, {"status": "ok", "model": "example", "version": "1"})
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/v1/price":
            self._reply(404, {"error": "not found"})
            return
        length = int(self.headers.get("content-length", "0"))
        try:
            request = json.loads(self.rfile.read(length))
            quotes = [quote(market) for market in request["markets"]]
        except (ValueError, KeyError, TypeError, ZeroDivisionError) as exc:
            self._reply(400, {"error": f"bad request: {exc}"})
            return
        self._reply(200, {"quotes": quotes})

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def main() -> None:
    port = int(os.environ.get("SPARKET_MODEL_PORT", "8080"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    sys.stderr.write(f"example model listening on 127.0.0.1:{port}\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
