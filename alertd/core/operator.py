"""The principals that act without signing in: the operator at the shell, and start-up.

They are ordinary principals with every school, so that their commands go through the same
permission table and audit trail as anyone's; their actors file them in the audit trail as
"operator" and "system", never as a person.
"""

from __future__ import annotations

from alertd.core.actor import Actor, ActorKind
from alertd.core.permission import Principal, Role

OPERATOR = Principal(
    actor=Actor("operator", "operator (alertd command line)", ActorKind.SYSTEM, "operator"),
    role=Role.DISTRICT_ADMIN,
    school_ids=None,
)
STARTUP = Principal(
    actor=Actor("system", "alertd start-up", ActorKind.SYSTEM, "system"),
    role=Role.DISTRICT_ADMIN,
    school_ids=None,
)
