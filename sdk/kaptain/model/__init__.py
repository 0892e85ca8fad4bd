"""The model API: frameworks, states, resources and the :class:`Model` itself.

Import from the modules (``from kaptain.model.frameworks import ModelFramework``), as the
Kaptain SDK's notebooks do.
"""

from kaptain.model.notebook_errors import install as _install_notebook_errors

_install_notebook_errors()  # one-line Kaptain errors in IPython / Jupyter (a no-op elsewhere)
