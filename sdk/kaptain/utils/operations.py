"""The coroutines behind ``kaptain.utils`` and the ``kaptain`` CLI: read, then delete.

Every call connects like the rest of the SDK (``KAPTAIN_TEMPORAL_ADDRESS`` or the embedded
stack), reads the overview through the worker, and hands deletions back to the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kaptain.client.session import session
from kaptain.config import current_namespace
from kaptain.contracts.inventory import DeleteResourcesResult
from kaptain.model.output import say
from kaptain.utils import deleting, gather
from kaptain.utils.overview import Overview
from kaptain.utils.plans import DeletePlan

PlanBuilder = Callable[[Overview], DeletePlan]


@dataclass
class Deletion:
    """What a delete did (or, in a dry run, would do).

    Attributes:
        plan: The plan.
        result: The outcomes; None for a dry run or an empty plan.
    """

    plan: DeletePlan
    result: DeleteResourcesResult | None = None

    def lines(self) -> list[str]:
        """One line per object: what happened to it."""
        if self.result is None:
            return self.plan.describe()
        return [
            f"{o.ref.kind.value}/{o.ref.name}: {o.message or ('deleted' if o.deleted else 'gone')}"
            for o in self.result.outcomes
        ]


async def overview(namespace: str | None = None) -> Overview:
    """Everything Kaptain created in ``namespace`` (default: the SDK's namespace)."""
    client, settings = await session(say)
    return await gather.overview(client, settings, namespace or current_namespace())


async def delete(
    build: PlanBuilder, namespace: str | None = None, *, dry_run: bool = False
) -> Deletion:
    """Plan from a fresh overview, then carry the plan out (unless ``dry_run``).

    Args:
        build: Makes the plan; raises when a named resource does not exist.
        namespace: Where (default: the SDK's namespace).
        dry_run: Only plan.

    Returns:
        The plan and, unless a dry run, its outcomes.
    """
    client, settings = await session(say)
    where = namespace or current_namespace()
    plan = build(await gather.overview(client, settings, where))
    if dry_run or plan.empty:
        return Deletion(plan)
    return Deletion(plan, await deleting.execute(client, settings, where, plan))
