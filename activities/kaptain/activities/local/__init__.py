"""The local platform: builds are virtual environments, jobs are processes on this machine."""

from kaptain.activities.local.build import LocalBuildActivities
from kaptain.activities.local.jobs import LocalJobActivities
from kaptain.activities.local.secrets import LocalSecretActivities

__all__ = ["LocalBuildActivities", "LocalJobActivities", "LocalSecretActivities"]
