"""What a failed Autotask check tells the owner, by what Autotask answered.

Autotask's answers (reference §1-2, and what integrators report): the zone lookup answers an
unknown API username with HTTP 500 `{"errors": ["Zone information could not be
determined"]}` (some tenants: 404); an authenticated call answers a wrong secret with 401, a
wrong username or an unknown integration code with HTTP 500 (`"IntegrationCode is
invalid."`), and a security level without access with 403 or a 500 that says "adequate
permissions".
"""

from __future__ import annotations

from connectors.sdk.check_errors import Advice, Answered, CheckWording, Raised, Unreachable
from connectors.sdk.network_failures import CheckFailure

# The zone resolver's code for a lookup that named no zone (see `zone.py`).
ZONE_UNKNOWN = "autotask_zone_unknown"
ZONE_LOOKUP_PATH = "zoneinformation"

USERNAME = Advice(
    settings=("api_username",),
    fix="use the API user's Username (Key) exactly as Autotask shows it, under Admin > "
    "Resources/Users > the API user > Security",
    what="Autotask's zone lookup at {host} knows no API user by this username{http}.",
)
SECRET = Advice(
    settings=("api_username", "secret"),
    fix="copy the API user's Username (Key) and Secret again from its Security tab; a secret "
    "regenerated in Autotask must be entered here again",
)
INTEGRATION_CODE = Advice(
    settings=("integration_code",),
    fix="use the API Tracking Identifier of your integration, from the API user's page "
    "(Admin > Resources/Users > the API user > API Tracking Identifier)",
    what="Autotask at {host} refused the integration code{http}.",
)
USER_OR_CODE = Advice(
    settings=("integration_code", "api_username"),
    fix="Autotask answers so when the integration code (API Tracking Identifier) or the API "
    "username is wrong; copy both again from the API user's page in Autotask",
    what="Autotask at {host} refused the API user{http}.",
)
SECURITY_LEVEL = Advice(
    settings=("api_username",),
    fix="in Autotask, give this API user the security level API User (system) (API-only)",
)
ZONE = Advice(
    settings=("zone_url",),
    fix="set it to your zone's REST address, such as "
    "https://webservices5.autotask.net/ATServicesRest/, or leave it empty for Northstar to "
    "look it up",
)
ZONE_LOOKUP = Advice(
    settings=("zone_lookup_url",),
    fix="leave it at https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation, "
    "or set `zone_url` to your zone's REST address to skip the lookup",
)
BUSY = Advice(settings=(), fix="try the check again in a few minutes")

AUTOTASK_CHECK = CheckWording(
    vendor="Autotask",
    unreachable=(
        Unreachable(ZONE_LOOKUP, path=ZONE_LOOKUP_PATH),
        Unreachable(ZONE),
    ),
    raised=(Raised(ZONE_UNKNOWN, CheckFailure.UNKNOWN_ACCOUNT, USERNAME),),
    answered=(
        Answered((404, 500), USERNAME, CheckFailure.UNKNOWN_ACCOUNT, path=ZONE_LOOKUP_PATH),
        Answered((429,), BUSY, says=("threshold",)),
        Answered((500,), INTEGRATION_CODE, CheckFailure.UNAUTHORIZED, says=("integrationcode",)),
        Answered((403, 500), SECURITY_LEVEL, CheckFailure.FORBIDDEN, says=("permission",)),
        Answered((401,), SECRET),
        Answered((403,), SECURITY_LEVEL),
        Answered((404,), ZONE),
        Answered((500,), USER_OR_CODE, CheckFailure.UNAUTHORIZED, path="thresholdinformation"),
        Answered((408, 429, 500, 502, 503, 504), BUSY),
    ),
    otherwise=ZONE,
)
