"""All of Kaptain's I/O: activities that act on a platform (local processes or Kubernetes).

Activities are methods of small classes whose collaborators are injected by the worker.
"""
