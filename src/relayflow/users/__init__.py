"""Who may use the web UI: users with scrypt-hashed passwords, and their sign-in sessions.

The first `relayflow up` creates an `admin` from RELAYFLOW_ADMIN_PASSWORD, or prints a
one-time setup link (`first_run_message`); `relayflow users` manages the rest.
"""

from relayflow.users.firstrun import first_run_message
from relayflow.users.sessions import Session, Sessions
from relayflow.users.store import User, UserError, UserStore

__all__ = ["Session", "Sessions", "User", "UserError", "UserStore", "first_run_message"]
