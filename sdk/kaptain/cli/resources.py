"""``kaptain jobs | experiments | deployments | diagnose | clean``: find and clean up.

Each command reads what Kaptain created through the worker (``kaptain.utils``) in the SDK's
namespace (``--namespace`` to choose another), and deletes through the worker too.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from kaptain.cli.exit_codes import EPILOG, EXIT_OK

Handler = Callable[[argparse.Namespace], int]

_NOUNS: dict[str, dict[str, str]] = {
    "jobs": {
        "help": "list or delete training jobs (PyTorchJob, TFJob) and image build Jobs",
        "one": "job",
    },
    "experiments": {
        "help": "list or delete tuning experiments (a TuneModel run and its trials' jobs)",
        "one": "experiment",
    },
    "deployments": {
        "help": "list or delete inference services (deployed models)",
        "one": "inference service",
    },
}


def add_output(parser: argparse.ArgumentParser) -> None:
    """``--output text|json``."""
    parser.add_argument(
        "--output",
        "-o",
        choices=["text", "json"],
        default="text",
        help="output format (default: %(default)s)",
    )


def _add_namespace(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--namespace",
        "-n",
        help="namespace to look in (default: $KAPTAIN_SDK_NAMESPACE, the in-cluster "
        "namespace, or 'default')",
    )


def register(commands: Any) -> None:
    """Add the resource commands to the ``kaptain`` parser's sub-commands."""
    for noun, words in _NOUNS.items():
        _register_noun(commands, noun, words)
    diagnose = commands.add_parser(
        "diagnose",
        help="list everything Kaptain created in the namespace",
        description="List every resource Kaptain created in the namespace: jobs, "
        "experiments, inference services, secrets, service accounts and pods, and which "
        "of them are stale.",
        epilog=EPILOG,
    )
    _add_namespace(diagnose)
    add_output(diagnose)
    diagnose.set_defaults(handler=_diagnose)

    clean = commands.add_parser(
        "clean",
        help="delete stale secrets and service accounts (dry run unless --force)",
        description="Without --force, print the stale resources (secrets and service "
        "accounts no workload and no running run uses) and delete nothing. With --all, also "
        "delete completed jobs and experiments and not-ready inference services (with "
        "--force: every workload and resource Kaptain created, running ones included).",
        epilog=EPILOG,
    )
    clean.add_argument("--force", action="store_true", help="delete (default: dry run)")
    clean.add_argument("--all", action="store_true", help="workloads too (clean_all)")
    _add_namespace(clean)
    add_output(clean)
    clean.set_defaults(handler=_clean)


def _register_noun(commands: Any, noun: str, words: dict[str, str]) -> None:
    parser = commands.add_parser(
        noun, help=words["help"], description=words["help"].capitalize() + ".", epilog=EPILOG
    )
    _add_namespace(parser)
    add_output(parser)
    parser.set_defaults(handler=_lister(noun))
    actions = parser.add_subparsers(dest=f"{noun}_action", metavar="ACTION")
    listing = actions.add_parser("list", help=f"list {noun} (the default)", epilog=EPILOG)
    _add_namespace(listing)
    add_output(listing)
    listing.set_defaults(handler=_lister(noun))
    delete = actions.add_parser(
        "delete",
        help=f"delete a {words['one']} by name, or all with --all",
        description=f"Delete one {words['one']} by name, or with --all every finished one "
        f"(every one with --force). Running {noun} are cancelled first, so their run "
        "cleans up after them.",
        epilog=EPILOG,
    )
    delete.add_argument("name", nargs="?", help=f"the {words['one']}'s name")
    delete.add_argument("--all", action="store_true", help=f"every finished {words['one']}")
    delete.add_argument("--force", action="store_true", help="with --all: running ones too")
    if noun == "jobs":
        delete.add_argument(
            "--kind", choices=["pytorchjob", "tfjob", "job"], help="only a job of this kind"
        )
    _add_namespace(delete)
    add_output(delete)
    delete.set_defaults(handler=_deleter(noun))


def _print_json(document: Any) -> None:
    print(json.dumps(document, indent=2, default=str))


def _lister(noun: str) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        from kaptain.client.portal import portal
        from kaptain.utils import operations, views

        overview = portal().run(operations.overview(args.namespace))
        rows, key = _rows(noun, overview)
        if args.output == "json":
            _print_json({"namespace": overview.namespace, noun: rows})
        else:
            print(views.table(rows, views.COLUMNS[key], f"No {noun} in {overview.namespace}."))
        return EXIT_OK

    return handler


def _rows(noun: str, overview: Any) -> tuple[list[dict[str, Any]], str]:
    from kaptain.utils import views

    if noun == "jobs":
        return [views.job_row(j) for j in overview.jobs()], "jobs"
    if noun == "experiments":
        return [views.experiment_row(e) for e in overview.experiments()], "experiments"
    return [views.deployment_row(d) for d in overview.deployments()], "inferenceservices"


def _deleter(noun: str) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        from kaptain.client.portal import portal
        from kaptain.exceptions import ModelValidationException
        from kaptain.utils import operations

        if bool(args.name) == bool(args.all) or (args.force and not args.all):
            raise ModelValidationException(f"{noun} delete: give a NAME, or --all [--force]")
        deletion = portal().run(operations.delete(_plan(noun, args), args.namespace))
        _report(deletion, args.output, dry_run=False)
        return EXIT_OK

    return handler


def _plan(noun: str, args: argparse.Namespace) -> Callable[[Any], Any]:
    from kaptain.contracts.inventory import ResourceKind
    from kaptain.utils import plans

    def build(overview: Any) -> Any:
        if noun == "jobs":
            if args.all:
                return plans.jobs_plan(overview, plans.deletable_jobs(overview, args.force), noun)
            kind = ResourceKind(args.kind) if args.kind else None
            job = plans.find_job(overview, args.name, kind)
            return plans.jobs_plan(overview, [job], f"{job.kind.value}-{job.name}")
        if noun == "experiments":
            if args.all:
                found = plans.deletable_experiments(overview, args.force)
                return plans.experiments_plan(overview, found, noun)
            experiment = plans.find_experiment(overview, args.name)
            return plans.experiments_plan(overview, [experiment], f"experiment-{experiment.name}")
        if args.all:
            services = plans.deletable_deployments(overview, args.force)
            return plans.deployments_plan(overview, services, "inferenceservices")
        deployment = plans.find_deployment(overview, args.name)
        return plans.deployments_plan(overview, [deployment], f"isvc-{deployment.name}")

    return build


def _document(deletion: Any, *, dry_run: bool) -> dict[str, Any]:
    plan, result = deletion.plan, deletion.result
    return {
        "dry_run": dry_run,
        "would_delete": plan.describe() if dry_run else [],
        "deleted": [
            {
                "kind": o.ref.kind.value,
                "name": o.ref.name,
                "deleted": o.deleted,
                "message": o.message,
            }
            for o in (result.outcomes if result else [])
        ],
        "cancelled": list(result.cancelled) if result else [],
    }


def _report(deletion: Any, output: str, *, dry_run: bool) -> None:
    if output == "json":
        _print_json(_document(deletion, dry_run=dry_run))
        return
    lines = deletion.lines()
    if dry_run:
        print("Would delete (dry run; --force deletes):" if lines else "Nothing stale to delete.")
    elif not lines:
        print("Nothing to delete.")
    for line in lines:
        print(f"  {line}")


def _diagnose(args: argparse.Namespace) -> int:
    from kaptain.client.portal import portal
    from kaptain.contracts.inventory import ResourceKind
    from kaptain.utils import operations, views

    overview = portal().run(operations.overview(args.namespace))
    sections: dict[str, tuple[list[dict[str, Any]], str]] = {
        noun: _rows(noun, overview) for noun in _NOUNS
    }
    for title, kind in (
        ("secrets", ResourceKind.SECRET),
        ("serviceaccounts", ResourceKind.SERVICEACCOUNT),
        ("pods", ResourceKind.POD),
    ):
        sections[title] = ([views.resource_row(i) for i in overview.of_kind(kind)], "resources")
    stale = [f"{i.kind.value}/{i.name}" for i in overview.stale()]
    if args.output == "json":
        document: dict[str, Any] = {"namespace": overview.namespace}
        document.update({title: rows for title, (rows, _) in sections.items()})
        document["stale"] = stale
        _print_json(document)
        return EXIT_OK
    print(f"Kaptain resources in namespace {overview.namespace}")
    for title, (rows, key) in sections.items():
        print(f"\n{title.upper()}")
        print(views.table(rows, views.COLUMNS[key], "  (none)"))
    if stale:
        print(f"\nStale: {', '.join(stale)} (kaptain clean --force deletes them)")
    return EXIT_OK


def _clean(args: argparse.Namespace) -> int:
    from kaptain.client.portal import portal
    from kaptain.utils import operations, plans

    if args.all and not args.force:  # completed workloads go, stale resources are shown
        completed = portal().run(operations.delete(plans.completed_plan, args.namespace))
        stale = portal().run(operations.delete(plans.stale_plan, args.namespace, dry_run=True))
        if args.output == "json":
            document = _document(completed, dry_run=False)
            document["would_delete"] = stale.plan.describe()
            _print_json(document)
        else:
            _report(completed, "text", dry_run=False)
            _report(stale, "text", dry_run=True)
        return EXIT_OK
    build = plans.all_plan if args.all else plans.stale_plan
    deletion = portal().run(operations.delete(build, args.namespace, dry_run=not args.force))
    _report(deletion, args.output, dry_run=not args.force)
    return EXIT_OK
