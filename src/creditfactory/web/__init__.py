"""The web dashboard under ``/ui/``: server-rendered pages (Jinja2, Plotly served from the
installed package, no CDN) behind the API's keys and roles.

The API mounts it (:func:`install`) with its permission map, so that the dashboard and the API
apply the same role rules and write through the same store functions.
"""

import typing

from creditfactory import _lazy_exports

if typing.TYPE_CHECKING:
    from creditfactory.web._pages import PREFIX, install, plotly_js
    from creditfactory.web._session import Signer

__all__ = ["PREFIX", "Signer", "install", "plotly_js"]

if not typing.TYPE_CHECKING:  # each name is imported from its module on first use
    __getattr__, __dir__ = _lazy_exports(__name__)
