"""`python3 -m mediasearch serve --config /config/search.json` (the image's command) and `check-config`.

Exit status: 0 fine, 2 the configuration is wrong (the message names the field), 1 anything else.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from mediasearch.config import ConfigError, load
from mediasearch.engine import open_engine
from mediasearch.indexer import Indexer
from mediasearch.metrics import Metrics
from mediasearch.server import SearchService, make_server

DEFAULT_CONFIG = "/config/search.json"

log = logging.getLogger("mediasearch")


def _check_config(path: str) -> int:
    config = load(path)
    print(f"{path}: valid; engine {config.engine.kind}, port {config.listen_port}, public URL {config.public_url}")
    for source in config.sources:
        state = "enabled" if source.enabled else f"disabled ({source.reason or 'turned off'})"
        print(f"  {source.app}: {state}")
    return 0


def _serve(path: str, host: str) -> int:
    config = load(path)
    engine = open_engine(config.engine)
    indexer = Indexer(config, engine)
    service = SearchService(config, engine, indexer, Metrics())
    server = make_server(service, host, config.listen_port)

    def rebuild(signum: int, frame: FrameType | None) -> None:
        indexer.request_full()

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        # shutdown() waits for serve_forever to return, so it must not run on the serving thread
        threading.Thread(target=server.shutdown, name="shutdown", daemon=True).start()

    signal.signal(signal.SIGHUP, rebuild)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    indexer.start()
    log.info("listening on %s:%d", host or "*", server.server_address[1])
    try:
        server.serve_forever()
    finally:
        server.server_close()
        indexer.stop()
        engine.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mediasearch", description="media-server's unified search service")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="index the sources and answer the page and the API")
    serve.add_argument("--config", default=DEFAULT_CONFIG, help=f"the configuration file (default {DEFAULT_CONFIG})")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default: every address)")  # noqa: S104
    check = commands.add_parser("check-config", help="validate the configuration file and say what it enables")
    check.add_argument("--config", default=DEFAULT_CONFIG, help=f"the configuration file (default {DEFAULT_CONFIG})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        if args.command == "check-config":
            return _check_config(args.config)
        return _serve(args.config, args.host)
    except ConfigError as error:
        print(f"mediasearch: configuration: {error}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError) as error:  # the index cannot be opened (EngineError), a file is unreadable
        print(f"mediasearch: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
