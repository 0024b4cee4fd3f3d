"""creditfactory: a full-lifecycle platform for internet consumer and micro-business lending.

Importing the package is cheap: it holds the version only. The lifecycle lives in subpackages
(``creditfactory.data``, ``creditfactory.scorecard``, ``creditfactory.decision`` ...).
"""

__version__ = "0.1.0"
