"""The ``kaptain`` command: the embedded stack, the worker, and finding what Kaptain created.

::

    kaptain dev up [--port P] [--ui-port U] [--headless] [--output text|json]
    kaptain dev down
    kaptain dev status [--output text|json]
    kaptain worker [worker options ...]      # same as python -m kaptain.worker
    kaptain schema [WORKFLOW]
    kaptain jobs | experiments | deployments [list] [-o json] [-n NAMESPACE]
    kaptain jobs delete NAME [--kind pytorchjob|tfjob|job]    (or --all [--force])
    kaptain experiments delete NAME                           (or --all [--force])
    kaptain deployments delete NAME                           (or --all [--force])
    kaptain diagnose [-o json]
    kaptain clean [--force] [--all] [-o json]
    kaptain logs NAME [--no-follow]

Exit codes (:mod:`kaptain.cli.exit_codes`): 0 success, 1 failure (or, for ``dev status``, a
stack that is not fully running), 2 usage error, 3 not found, 4 Temporal unreachable,
130 interrupted. Errors print as one line ``kaptain: error: ...``; set
``KAPTAIN_SDK_DEBUG=1`` for the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from kaptain.cli import logs, resources
from kaptain.cli.exit_codes import (
    EPILOG,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    exit_code_of,
)

if TYPE_CHECKING:
    from kaptain.stack import StackInfo

__all__ = ["main"]

logger = logging.getLogger(__name__)

DEBUG_ENV = "KAPTAIN_SDK_DEBUG"

_TRUTHY = {"1", "true", "yes", "on", "y", "t"}


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() in _TRUTHY


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kaptain",
        description="Kaptain on Temporal: run the embedded stack and the worker; find, "
        "follow and clean up what Kaptain created.",
        epilog=f"Set {DEBUG_ENV}=1 to see tracebacks. State lives in $KAPTAIN_HOME "
        f"(default ~/.kaptain). {EPILOG}.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    dev = commands.add_parser(
        "dev",
        help="run the embedded stack (Temporal dev server + local worker)",
        description="Manage the embedded Kaptain stack: a Temporal dev server (with Web UI and "
        "a SQLite store in $KAPTAIN_HOME/temporal.db) and a local worker, both running in the "
        "background on 127.0.0.1.",
    )
    dev_commands = dev.add_subparsers(dest="dev_command", metavar="ACTION", required=True)

    dev_up = dev_commands.add_parser(
        "up",
        help="start the stack (idempotent)",
        description="Start the embedded stack, or report the one already running. A dead "
        "worker is restarted. Ports default to 7233 (gRPC) and 8233 (Web UI) when free.",
    )
    dev_up.add_argument("--port", type=int, help="Temporal gRPC port (default: 7233 or free)")
    dev_up.add_argument("--ui-port", type=int, help="Web UI port (default: 8233 or free)")
    dev_up.add_argument("--headless", action="store_true", help="do not run the Web UI")
    dev_up.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for Temporal to serve (default: %(default)s)",
    )
    resources.add_output(dev_up)
    dev_up.set_defaults(handler=_dev_up)

    dev_down = dev_commands.add_parser(
        "down",
        help="stop the stack (history is kept)",
        description="Stop the embedded stack's processes (SIGTERM, then SIGKILL). The SQLite "
        "store stays, so workflow history survives the next 'kaptain dev up'.",
    )
    dev_down.set_defaults(handler=_dev_down)

    dev_status = dev_commands.add_parser(
        "status",
        help="show addresses, pids and liveness",
        description="Show the embedded stack's addresses, pids and whether each process runs. "
        "Exits 0 when both run, 1 otherwise.",
    )
    resources.add_output(dev_status)
    dev_status.set_defaults(handler=_dev_status)

    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of every workflow's input and result",
        description="Print the wire contract other services use to start Kaptain's workflows: "
        "task queue, workflow ids, search attributes, and the JSON Schema of each workflow's "
        "input and result (payloads are json/plain).",
    )
    schema.add_argument("workflow", nargs="?", help="only this workflow (e.g. kaptain.TrainModel)")
    schema.set_defaults(handler=_schema)

    resources.register(commands)
    logs.register(commands)

    # Listed for --help only: main() forwards `kaptain worker ...` before parsing.
    commands.add_parser(
        "worker",
        help="run a worker (see: kaptain worker --help)",
        description="Run a Kaptain worker; all arguments go to python -m kaptain.worker.",
        add_help=False,
    )
    return parser


def _schema(args: argparse.Namespace) -> int:
    from kaptain.contracts.catalog import schema_document

    document = schema_document()
    if args.workflow:
        if args.workflow not in document["workflows"]:
            known = ", ".join(document["workflows"])
            print(f"kaptain: error: unknown workflow {args.workflow!r} (known: {known})")
            return 2
        document = document["workflows"][args.workflow]
    print(json.dumps(document, indent=2))
    return 0


def _print_stack(info: StackInfo | None, output: str, *, running: bool) -> None:
    from kaptain.stack import state_paths

    if output == "json":
        payload: dict[str, Any] = {"running": running}
        if info is not None:
            payload.update(info.model_dump(mode="json"))
        else:
            payload["home"] = str(state_paths().root)
        print(json.dumps(payload, indent=2))
        return
    if info is None:
        print(f"The embedded Kaptain stack is not running (home: {state_paths().root}).")
        return
    paths = state_paths(info.home)

    def alive(flag: bool) -> str:
        return "running" if flag else "NOT RUNNING"

    print(f"Kaptain stack in {info.home}")
    print(f"  Temporal:   {info.temporal_address} (namespace {info.namespace})")
    print(f"  Web UI:     {info.ui_url or '-- (headless)'}")
    print(f"  Task queue: {info.task_queue}")
    print(f"  Server:     pid {info.server_pid}, {alive(info.server_alive)}")
    print(f"  Worker:     pid {info.worker_pid}, {alive(info.worker_alive)}")
    print(f"  Logs:       {paths.logs}")


def _dev_up(args: argparse.Namespace) -> int:
    from kaptain import stack

    info = stack.up(
        port=args.port, ui_port=args.ui_port, ui=not args.headless, timeout=args.timeout
    )
    _print_stack(info, args.output, running=info.healthy)
    return EXIT_OK if info.healthy else EXIT_FAILURE


def _dev_down(args: argparse.Namespace) -> int:
    from kaptain import stack

    home = stack.state_paths().root
    if stack.down():
        print(f"Stopped the embedded Kaptain stack in {home} (history kept).")
    else:
        print(f"The embedded Kaptain stack in {home} was not running.")
    return EXIT_OK


def _dev_status(args: argparse.Namespace) -> int:
    from kaptain import stack

    info = stack.status()
    running = info is not None and info.healthy
    _print_stack(info, args.output, running=running)
    return EXIT_OK if running else EXIT_FAILURE


def _worker(argv: Sequence[str]) -> int:
    module = importlib.import_module("kaptain.worker.main")
    worker_main = cast(Callable[[list[str]], "int | None"], module.main)
    return int(worker_main(list(argv)) or EXIT_OK)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``kaptain`` command.

    Args:
        argv: Arguments without the program name; by default ``sys.argv[1:]``.

    Returns:
        The exit code (see :mod:`kaptain.cli.exit_codes`).
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = _debug()
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args_list[:1] == ["worker"]:
            return _worker(args_list[1:])
        parser = _build_parser()
        try:
            args = parser.parse_args(args_list)
        except SystemExit as exc:  # argparse: --help exits 0, a usage error 2
            return EXIT_OK if exc.code in (0, None) else EXIT_USAGE
        handler = cast(Callable[[argparse.Namespace], int], args.handler)
        return handler(args)
    except KeyboardInterrupt:
        print("kaptain: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if debug:
            traceback.print_exc()
        else:
            message = str(exc).strip() or type(exc).__name__
            print(f"kaptain: error: {message}", file=sys.stderr)
        # `dev` and `schema` keep their documented 0/1/2; the resource commands say more.
        return exit_code_of(exc) if args_list[:1] not in (["dev"], ["schema"]) else EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
