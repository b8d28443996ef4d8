"""``python -m airflow_provider_aigc.simulator``: serve until interrupted, or print connections."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import shlex
import signal
import sys
from typing import Any

from airflow_provider_aigc.simulator.app import build_app
from airflow_provider_aigc.simulator.config import SimulatorConfig
from airflow_provider_aigc.simulator.credentials import connection_env
from airflow_provider_aigc.simulator.server import serve


def _pairs(flag: str, values: list[str] | None, convert: type[int] | type[float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name] = convert(value)
        except ValueError:
            raise ValueError(f"{flag} expects NAME={convert.__name__}, got {item!r}") from None
    return out


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, SimulatorConfig]:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_aigc.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free port)")
    parser.add_argument("--config", metavar="FILE", help="JSON file of /_sim/config knobs (faults included)")
    parser.add_argument("--seed", type=int, help="seed for every random decision (default: random)")
    parser.add_argument("--speed", type=float, help="divide every job latency by this factor (default 1)")
    parser.add_argument(
        "--latency", action="append", metavar="APP=SECONDS", help="per-app latency, repeatable"
    )
    parser.add_argument(
        "--concurrency", action="append", metavar="VENDOR=N", help="0 = unlimited, repeatable"
    )
    parser.add_argument(
        "--submit-rate", action="append", metavar="VENDOR=PER_SECOND", help="0 = unlimited, repeatable"
    )
    parser.add_argument("--url-ttl", action="append", metavar="VENDOR=SECONDS", help="image URL lifetime")
    parser.add_argument("--token-ttl", type=float, help="Baidu access token lifetime (default 2592000)")
    parser.add_argument("--image-bytes", type=int, help="pad every image to this many bytes (0 = natural)")
    parser.add_argument("--video-bytes", type=int, help="pad every video to this many bytes (0 = natural)")
    parser.add_argument("--moderation-word", action="append", help="moderated prompt word, repeatable")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.add_argument(
        "--print-connections", action="store_true", help="print AIRFLOW_CONN_* lines and exit"
    )
    args = parser.parse_args(argv)
    try:
        config = SimulatorConfig()
        if args.config:
            with open(args.config, encoding="utf-8") as file:
                config = config.merged(json.load(file))
        flags = {
            "seed": args.seed,
            "speed": args.speed,
            "token_ttl": args.token_ttl,
            "image_bytes": args.image_bytes,
            "video_bytes": args.video_bytes,
            "moderation_words": args.moderation_word,
            "latency": _pairs("--latency", args.latency, float),
            "concurrency": _pairs("--concurrency", args.concurrency, int),
            "url_ttl": _pairs("--url-ttl", args.url_ttl, float),
            "submit_rate": _pairs("--submit-rate", args.submit_rate, float),
        }
        config = config.merged({key: value for key, value in flags.items() if value not in (None, {})})
    except (OSError, ValueError) as error:
        parser.error(str(error))
    return args, config


def connection_lines(host: str, port: int, config: SimulatorConfig) -> list[str]:
    """Shell-quoted ``NAME='json'`` lines for the default connections of this simulator."""
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://[{reachable}]:{port}" if ":" in reachable else f"http://{reachable}:{port}"
    env = connection_env(url, config.url_ttl)
    return [f"{name}={shlex.quote(value)}" for name, value in env.items()]


def raise_file_limit() -> None:
    """Allow as many open sockets as the hard limit permits: thousands of clients poll at once."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def run(args: argparse.Namespace, config: SimulatorConfig) -> None:
    server = await serve(build_app(config), args.host, args.port, access_log=args.access_log)
    print(f"AIGC simulator listening on {server.url} (speed {config.speed}, seed {config.seed})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await server.close()


def main(argv: list[str] | None = None) -> int:
    args, config = parse_args(argv)
    if args.print_connections:
        print("\n".join(connection_lines(args.host, args.port, config)))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    raise_file_limit()
    asyncio.run(run(args, config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
