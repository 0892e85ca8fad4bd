"""``kaptain logs NAME``: print a job's replica logs, following them while its run goes on.

NAME is a job name (``kaptain jobs``) or a model id, meaning that model's newest job. Lines
are prefixed with the replica (``[master-0]``), as ``verbose=True`` shows them.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from kaptain.cli.exit_codes import EPILOG, EXIT_OK

_POLL_SECONDS = 1.0


def register(commands: Any) -> None:
    """Add ``logs`` to the ``kaptain`` parser's sub-commands."""
    logs = commands.add_parser(
        "logs",
        help="print (and follow) a job's replica logs",
        description="Print the replica logs of a job, or of a model's newest job when NAME "
        "is a model id, and follow them until its run ends (unless --no-follow).",
        epilog=EPILOG,
    )
    logs.add_argument("name", help="a job name, or a model id (e.g. dev/mnist)")
    logs.add_argument("--no-follow", action="store_true", help="print what is there and exit")
    logs.add_argument("--namespace", "-n", help="namespace (default: the SDK's)")
    logs.set_defaults(handler=_logs)


def pick_job(jobs: list[Any], name: str) -> Any:
    """The job named ``name``, else the newest job of the model ``name``.

    Raises:
        ResourceNotFoundException: Neither exists.
    """
    from kaptain.contracts.names import model_slug
    from kaptain.exceptions import ResourceNotFoundException

    for job in jobs:
        if job.name == name:
            return job
    of_model = [j for j in jobs if name in (j.model_id, j.model) or j.model == model_slug(name)]
    if not of_model:
        raise ResourceNotFoundException(f"no job and no model's job named {name!r}")
    return max(of_model, key=lambda j: j.created or "")


def _logs(args: argparse.Namespace) -> int:
    from kaptain.client.portal import portal
    from kaptain.model.logs import LogFollower
    from kaptain.utils import operations

    overview = portal().run(operations.overview(args.namespace))
    job = pick_job(overview.jobs(), args.name)
    follower = LogFollower(print)
    follower.poll(job.logs)
    run = None if args.no_follow or job.finished else overview.owner_run(job)
    if run is None:
        return EXIT_OK
    print(f"-- following {job.name} while {run.workflow_id} runs (Ctrl-C stops) --", flush=True)
    while portal().run(_running(run.workflow_id, run.run_id)):
        time.sleep(_POLL_SECONDS)
        follower.poll(job.logs)
    time.sleep(_POLL_SECONDS)
    follower.poll(job.logs)
    return EXIT_OK


async def _running(workflow_id: str, run_id: str) -> bool:
    from temporalio.client import WorkflowExecutionStatus

    from kaptain.client.session import session
    from kaptain.model.output import say

    client, _ = await session(say)
    description = await client.get_workflow_handle(workflow_id, run_id=run_id).describe()
    return description.status == WorkflowExecutionStatus.RUNNING
