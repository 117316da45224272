"""The result codes of the ES10 functions, by the names SGP.22 section 5.7 gives them.

:func:`euicc_error` turns a code into :class:`~pyrsp.errors.EuiccError` with the function name,
the code and the standard's name for it, so callers can test ``err.reason == "catBusy"``.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyrsp.errors import EuiccError

__all__ = [
    "AUTHENTICATE_ERRORS",
    "CANCEL_SESSION_ERRORS",
    "CANCEL_SESSION_REASONS",
    "DELETE_ERRORS",
    "DISABLE_ERRORS",
    "DOWNLOAD_ERRORS",
    "ENABLE_ERRORS",
    "LIST_NOTIFICATION_ERRORS",
    "LOAD_CRL_ERRORS",
    "MEMORY_RESET_ERRORS",
    "NOTIFICATION_SENT_ERRORS",
    "PROFILE_INFO_ERRORS",
    "RETRIEVE_NOTIFICATIONS_ERRORS",
    "SET_DEFAULT_DP_ERRORS",
    "SET_NICKNAME_ERRORS",
    "euicc_error",
    "raise_for_result",
]

_UNDEFINED = {127: "undefinedError"}

#: EnableProfileResponse.enableResult (section 5.7.16).
ENABLE_ERRORS: Mapping[int, str] = {
    1: "iccidOrAidNotFound",
    2: "profileNotInDisabledState",
    3: "disallowedByPolicy",
    4: "wrongProfileReenabling",
    5: "catBusy",
    **_UNDEFINED,
}

#: DisableProfileResponse.disableResult (section 5.7.17).
DISABLE_ERRORS: Mapping[int, str] = {
    1: "iccidOrAidNotFound",
    2: "profileNotInEnabledState",
    3: "disallowedByPolicy",
    5: "catBusy",
    **_UNDEFINED,
}

#: DeleteProfileResponse.deleteResult (section 5.7.18).
DELETE_ERRORS: Mapping[int, str] = {
    1: "iccidOrAidNotFound",
    2: "profileNotInDisabledState",
    3: "disallowedByPolicy",
    **_UNDEFINED,
}

#: EuiccMemoryResetResponse.resetResult (section 5.7.19).
MEMORY_RESET_ERRORS: Mapping[int, str] = {1: "nothingToDelete", 5: "catBusy", **_UNDEFINED}

#: SetNicknameResponse.setNicknameResult (section 5.7.21).
SET_NICKNAME_ERRORS: Mapping[int, str] = {1: "iccidNotFound", **_UNDEFINED}

#: SetDefaultDpAddressResponse.setDefaultDpAddressResult (section 5.7.4).
SET_DEFAULT_DP_ERRORS: Mapping[int, str] = dict(_UNDEFINED)

#: ProfileInfoListResponse.profileInfoListError (section 5.7.15).
PROFILE_INFO_ERRORS: Mapping[int, str] = {1: "incorrectInputValues", **_UNDEFINED}

#: ListNotificationResponse.listNotificationsResultError (section 5.7.9).
LIST_NOTIFICATION_ERRORS: Mapping[int, str] = dict(_UNDEFINED)

#: RetrieveNotificationsListResponse.notificationsListResultError (section 5.7.10).
RETRIEVE_NOTIFICATIONS_ERRORS: Mapping[int, str] = {1: "noResultAvailable", **_UNDEFINED}

#: NotificationSentResponse.deleteNotificationStatus (section 5.7.10).
NOTIFICATION_SENT_ERRORS: Mapping[int, str] = {1: "nothingToDelete", **_UNDEFINED}

#: AuthenticateResponseError.authenticateErrorCode (section 5.7.13).
AUTHENTICATE_ERRORS: Mapping[int, str] = {
    1: "invalidCertificate",
    2: "invalidSignature",
    3: "unsupportedCurve",
    4: "noSessionContext",
    5: "invalidOid",
    6: "euiccChallengeMismatch",
    7: "ciPKUnknown",
    **_UNDEFINED,
}

#: PrepareDownloadResponseError.downloadErrorCode (section 5.7.5).
DOWNLOAD_ERRORS: Mapping[int, str] = {
    1: "invalidCertificate",
    2: "invalidSignature",
    3: "unsupportedCurve",
    4: "noSessionContext",
    5: "invalidTransactionId",
    **_UNDEFINED,
}

#: CancelSessionResponse.cancelSessionResponseError (section 5.7.14).
CANCEL_SESSION_ERRORS: Mapping[int, str] = {5: "invalidTransactionId", **_UNDEFINED}

#: LoadCRLResponseError (section 5.7.11).
LOAD_CRL_ERRORS: Mapping[int, str] = {
    1: "invalidSignature",
    2: "invalidCRLFormat",
    3: "notEnoughMemorySpace",
    4: "verificationKeyNotFound",
    5: "fresherCrlAlreadyLoaded",
    6: "baseCrlMissing",
    **_UNDEFINED,
}

#: CancelSessionReason (section 5.7.14): name -> code.
CANCEL_SESSION_REASONS: Mapping[str, int] = {
    "endUserRejection": 0,
    "postponed": 1,
    "timeout": 2,
    "pprNotAllowed": 3,
    "metadataMismatch": 4,
    "loadBppExecutionError": 5,
    "undefinedReason": 127,
}


def euicc_error(function: str, code: int, names: Mapping[int, str]) -> EuiccError:
    """An :class:`EuiccError` for ``function`` answering ``code``, named from ``names``."""
    reason = names.get(code, "")
    shown = reason or "a code SGP.22 does not define"
    return EuiccError(
        f"{function}: expected ok (0), the eUICC answered {code} ({shown})",
        function=function,
        code=code,
        reason=reason,
    )


def raise_for_result(function: str, code: int, names: Mapping[int, str]) -> None:
    """Raise :func:`euicc_error` unless ``code`` is ``0`` (ok)."""
    if code != 0:
        raise euicc_error(function, code, names)
