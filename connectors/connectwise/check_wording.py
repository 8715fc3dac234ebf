"""What a failed ConnectWise check tells the owner, by what ConnectWise answered.

`{address}` is the setting the owner gave the server's address in (`site` or `base_url`),
`{company_id}` the company id they gave.
Answers follow reference §2: a 401 `{"code": "ConnectWiseApi", "message":
"UserNotAuthenticated"}` for keys it does not accept, a `clientId` complaint for a missing or
unknown clientId, 403 for a security role without access, `null` from the login page for a
company id it does not know, 404 for a codebase it does not have.
"""

from __future__ import annotations

from connectors.sdk.check_errors import Advice, Answered, CheckWording, Raised, Unreachable
from connectors.sdk.network_failures import CheckFailure

# Error codes the connector raises for what ConnectWise's login page says (see `api.py`).
COMPANY_UNKNOWN = "connectwise_company_unknown"
NOT_CONNECTWISE = "connectwise_not_a_server"
NO_API_HERE = "connectwise_no_api_here"

ADDRESS = Advice(
    settings=("{address}",),
    fix="give your cloud region (na, eu, au, aus, za), the ConnectWise host you log in to "
    "(such as eu.myconnectwise.net), or your own server's host name",
)
KEYS = Advice(
    settings=("company_id", "public_key", "private_key"),
    fix="use the company id from your ConnectWise login page and the public and private key "
    "of the API member (System > Members > API Members > API Keys); a key deleted in "
    "ConnectWise must be made again and entered here",
)
CLIENT_ID = Advice(
    settings=("client_id",),
    fix="use the clientId of your integration, from developer.connectwise.com (ClientID)",
    what="ConnectWise at {host} refused the integration's clientId{http}.",
)
ROLE = Advice(
    settings=("public_key",),
    fix="in ConnectWise, give the API member these keys belong to a security role that may "
    "inquire System, Companies, Service Desk, Time and Finance",
)
COMPANY = Advice(
    settings=("company_id",),
    fix="use the company id you type on the ConnectWise login page (not your company's name)",
    what="ConnectWise at {host} does not know the company id '{company_id}'.",
)
NOT_A_SERVER = Advice(
    settings=("{address}",),
    fix=ADDRESS.fix,
    what="{host} answered{http}, but does not look like a ConnectWise PSA server: it has no "
    "ConnectWise login page.",
)
CODEBASE = Advice(
    settings=("codebase", "{address}"),
    fix="leave the codebase empty so Northstar asks ConnectWise for it, and check the address",
    what="ConnectWise at {host} has no API under this codebase{http}.",
)
WEB_NOT_API = Advice(
    settings=("{address}",),
    fix="give the cloud region (na, eu, au, aus, za) or the api- host, such as "
    "api-na.myconnectwise.net, and use https://",
    what='{host} is not ConnectWise\'s API address: it answered "SSL is required"{http}.',
)
BUSY = Advice(settings=(), fix="try the check again in a few minutes")

CONNECTWISE_CHECK = CheckWording(
    vendor="ConnectWise",
    unreachable=(Unreachable(ADDRESS),),
    raised=(
        Raised(COMPANY_UNKNOWN, CheckFailure.UNKNOWN_ACCOUNT, COMPANY),
        Raised(NOT_CONNECTWISE, CheckFailure.NOT_FOUND, NOT_A_SERVER),
        Raised(NO_API_HERE, CheckFailure.NOT_FOUND, CODEBASE),
    ),
    answered=(
        Answered(
            (400, 401, 403, 404), WEB_NOT_API, CheckFailure.NOT_FOUND, says=("ssl is required",)
        ),
        Answered((404,), NOT_A_SERVER, path="/login/companyinfo/"),
        Answered((401, 403), CLIENT_ID, CheckFailure.UNAUTHORIZED, says=("clientid",)),
        Answered((401,), KEYS),
        Answered((403,), ROLE),
        Answered((404,), CODEBASE, path="/apis/3.0/"),
        Answered((408, 429, 500, 502, 503, 504), BUSY),
    ),
    otherwise=ADDRESS,
)
