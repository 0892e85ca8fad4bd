"""The Kubernetes platform: Kaniko builds, Kubeflow training jobs, credentials as Secrets.

Only this package (and :mod:`kaptain.cluster` on the SDK side) imports the
``kubernetes`` client; every API failure is mapped once, in :mod:`.errors`.
"""
