"""The local serving runtime: programs the local platform runs as processes.

* :mod:`kaptain.serving.server` -- one model replica, a KServe ``ModelServer`` (V1 + V2).
* :mod:`kaptain.serving.router` -- the traffic-splitting reverse proxy in front of them.
* :mod:`kaptain.serving.metrics` -- parses the router's (and Knative's) request metrics.
"""
