"""The HTTP decision service: ``create_app(settings)``, one router per resource."""

from creditfactory.api._app import create_app
from creditfactory.api._demo import service_demo
from creditfactory.api._deps import ACTIONS, PERMISSIONS
from creditfactory.api._loans import LoanPublic, loan_public
from creditfactory.api._server import ServerProcess, free_port, serve, start_server
from creditfactory.settings import Settings

__all__ = [
    "ACTIONS",
    "PERMISSIONS",
    "LoanPublic",
    "ServerProcess",
    "Settings",
    "create_app",
    "free_port",
    "loan_public",
    "serve",
    "service_demo",
    "start_server",
]
