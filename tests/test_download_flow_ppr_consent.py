"""Profile policy rules that need the user's specific consent (SGP.22 section 2.9.2).

A RAT rule that allows a PPR with the ``consentRequired`` flag puts that PPR in the
``ConfirmDownload`` effect; declining cancels with endUserRejection. The clients hand it to a
``confirm`` callback that takes ``ppr_consent``; the CLI names the rules before asking.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from pyrsp.cli.interaction import DownloadUi
from pyrsp.cli.output import Output
from pyrsp.client._core import Handlers, provisioning_handlers
from pyrsp.errors import DownloadDeclined
from pyrsp.models import OperatorId, ProfileMetadata
from pyrsp.protocol import es10
from pyrsp.protocol.download import ppr_needs_consent
from pyrsp.protocol.effects import ConfirmDownload
from test_download_flow import (
    OWNER,
    PPR1,
    cancel_reason_sent,
    failure,
    rat,
    rule,
    run,
    setup,
    setup_ppr,
)

CONSENT_REQUIRED = (b"\x80", 1)  # PprFlags: consentRequired (bit 0)


def consent_rule(mcc_mnc: str = "130014") -> dict[str, Any]:
    return {**rule(mcc_mnc), "pprFlags": CONSENT_REQUIRED}


def asked(driver: Any) -> list[ConfirmDownload]:
    return [e for e in driver.effects if isinstance(e, ConfirmDownload)]


def test_a_rule_with_consent_required_names_its_ppr_in_the_consent_request() -> None:
    driver = setup_ppr(rat(consent_rule()))
    result = run(driver)
    [effect] = asked(driver)
    assert effect.ppr_consent == ("ppr1",)
    assert effect.metadata == result.metadata and result.metadata.policy_rules == ("ppr1",)


def test_declining_a_ppr_that_needs_consent_cancels_with_end_user_rejection() -> None:
    driver = setup_ppr(rat(consent_rule()))
    driver.consent = False
    error = failure(driver, DownloadDeclined)
    assert (error.stage, error.cancel_reason) == ("consent", "endUserRejection")
    assert cancel_reason_sent(driver) == 0
    assert 0xBF21 not in driver.card.tags()  # nothing was prepared
    assert asked(driver)[0].ppr_consent == ("ppr1",)


@pytest.mark.parametrize(
    "table",
    [rat(rule("130014")), rat(rule("130014"), consent_rule("130015"))],
    ids=["no-flag", "flag-for-another-operator"],
)
def test_a_rule_without_the_flag_asks_no_ppr_consent(table: bytes) -> None:
    driver = setup_ppr(table)
    run(driver)
    assert asked(driver)[0].ppr_consent == ()


def test_any_allowing_rule_with_the_flag_requires_consent() -> None:
    driver = setup_ppr(rat(rule("130014"), consent_rule("EEEEEE")))
    run(driver)
    assert asked(driver)[0].ppr_consent == ("ppr1",)


def test_a_profile_without_policy_rules_asks_no_ppr_consent() -> None:
    driver = setup()
    run(driver)
    assert asked(driver)[0].ppr_consent == ()


def test_ppr_needs_consent_rules() -> None:
    owner = OperatorId(mcc_mnc="26201")
    flagged = es10.RatRule(ppr_ids=("ppr1",), allowed_operators=(owner,), consent_required=True)
    assert ppr_needs_consent("ppr1", owner, [flagged])
    assert not ppr_needs_consent("ppr2", owner, [flagged])
    assert not ppr_needs_consent("ppr1", OperatorId(mcc_mnc="26202"), [flagged])
    assert not ppr_needs_consent("ppr1", None, [flagged])
    assert PPR1 == (b"\x40", 2) and OWNER["mccMnc"] == bytes.fromhex("130014")


# --- the clients' confirm callback ----------------------------------------------------------

EFFECT = ConfirmDownload("the metadata", ppr_consent=("ppr1",))


def test_a_callback_taking_ppr_consent_is_given_it() -> None:
    seen: list[tuple[Any, ...]] = []

    def by_name(metadata: Any, ppr_consent: tuple[str, ...] = ()) -> bool:
        seen.append((metadata, ppr_consent))
        return True

    def by_kwargs(metadata: Any, **extra: Any) -> bool:
        seen.append((metadata, extra["ppr_consent"]))
        return True

    for callback in (by_name, by_kwargs):
        assert Handlers(confirm=callback).answer(EFFECT) is True
    assert seen == [("the metadata", ("ppr1",))] * 2


def test_a_metadata_only_callback_and_fixed_answers_still_work() -> None:
    assert Handlers(confirm=lambda metadata: metadata == "the metadata").answer(EFFECT) is True
    assert provisioning_handlers(False, None, None).answer(EFFECT) is False


# --- the CLI prompt ---------------------------------------------------------------------------


def consent_text(ppr_consent: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    out = Output(_stderr=Console(file=buffer, width=200, color_system=None))
    metadata = ProfileMetadata(
        iccid="8949449999999990023",
        service_provider_name="S",
        profile_name="P",
        policy_rules=("ppr1",),
    )
    assert DownloadUi(out, yes=True).confirm(metadata, ppr_consent) is True
    return buffer.getvalue()


def test_the_cli_names_the_rules_that_need_consent() -> None:
    text = consent_text(("ppr1",))
    assert "consenting to its policy rules" in text
    assert "ppr1: the profile cannot be disabled" in text
    assert "consenting to its policy rules" not in consent_text(())
