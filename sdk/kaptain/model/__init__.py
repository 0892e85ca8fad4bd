"""The model API: frameworks, states, resources and the :class:`Model` itself.

Import from the modules (``from kaptain.model.frameworks import ModelFramework``), as the
Kaptain SDK's notebooks do.
"""
