"""The SDK's own, narrow access to a cluster, with the user's credentials.

It stages credentials as Secrets (so they never travel through Temporal) and reads pod logs
for ``verbose`` runs; it never creates or changes workloads -- the worker does that.
"""
